import type { z } from "@hono/zod-openapi";
import type { ProductListRequest } from "../../domain/catalogue/catalogue-service";
import type { AppRouteHandler } from "../lib/app-env";
import { publicJson } from "../lib/public-read";
import type { createProduct, discontinueProduct, editProduct, getProduct, listProducts } from "./products.routes";
import type { ProductListQuerySchema } from "./products.schemas";

/**
 * The list request of each validated query met lately. The query's validation is remembered per query string
 * (products.routes.ts: pure), so the same frozen query comes back for the same text; so does its request, which
 * the catalogue keys its cache entry by once.
 */
const listRequests = new WeakMap<object, ProductListRequest>();

/** The list request of a validated query (the same object for the same remembered query). */
export function listRequestFor(query: ListQuery): ProductListRequest {
  let request = listRequests.get(query);
  if (request === undefined) {
    const { page, size, sort, cursor, ...filter } = query;
    request = Object.freeze({ filter: Object.freeze(filter), sort, page, size, cursor });
    if (Object.isFrozen(query)) listRequests.set(query, request);
  }
  return request;
}

type ListQuery = z.output<typeof ProductListQuerySchema>;

export const listProductsHandler: AppRouteHandler<typeof listProducts> = async (c) =>
  publicJson(c, await c.get("services").catalogue.listBody(listRequestFor(c.req.valid("query"))));

export const getProductHandler: AppRouteHandler<typeof getProduct> = async (c) =>
  publicJson(c, await c.get("services").catalogue.productBody(c.req.valid("param").productId));

export const createProductHandler: AppRouteHandler<typeof createProduct> = async (c) => {
  const product = await c.get("services").catalogue.create(c.get("actor"), c.req.valid("json"));
  return c.json(product, 201);
};

export const editProductHandler: AppRouteHandler<typeof editProduct> = async (c) => {
  const { version, ...edit } = c.req.valid("json");
  const product = await c.get("services").catalogue.edit(c.get("actor"), c.req.valid("param").productId, version, edit);
  return c.json(product, 200);
};

export const discontinueProductHandler: AppRouteHandler<typeof discontinueProduct> = async (c) => {
  const product = await c.get("services").catalogue.discontinue(c.get("actor"), c.req.valid("param").productId);
  return c.json(product, 200);
};

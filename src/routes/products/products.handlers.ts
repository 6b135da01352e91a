import type { AppRouteHandler } from "../lib/app-env";
import { publicJson } from "../lib/public-read";
import type { createProduct, discontinueProduct, editProduct, getProduct, listProducts } from "./products.routes";

export const listProductsHandler: AppRouteHandler<typeof listProducts> = async (c) => {
  const { page, size, sort, cursor, ...filter } = c.req.valid("query");
  return publicJson(c, await c.get("services").catalogue.listBody({ filter, sort, page, size, cursor }));
};

export const getProductHandler: AppRouteHandler<typeof getProduct> = async (c) =>
  publicJson(c, await c.get("services").catalogue.productBody(c.req.valid("param").productId));

export const createProductHandler: AppRouteHandler<typeof createProduct> = async (c) => {
  const product = await c.var.services.catalogue.create(c.var.actor, c.req.valid("json"));
  return c.json(product, 201);
};

export const editProductHandler: AppRouteHandler<typeof editProduct> = async (c) => {
  const { version, ...edit } = c.req.valid("json");
  const product = await c.var.services.catalogue.edit(c.var.actor, c.req.valid("param").productId, version, edit);
  return c.json(product, 200);
};

export const discontinueProductHandler: AppRouteHandler<typeof discontinueProduct> = async (c) => {
  const product = await c.var.services.catalogue.discontinue(c.var.actor, c.req.valid("param").productId);
  return c.json(product, 200);
};

import { createRoute, z } from "@hono/zod-openapi";
import { BODY_PROBLEMS, problemResponses } from "../lib/openapi-problems";
import { notModifiedResponse, PUBLIC_READ_CACHING, publicReadHeaders } from "../lib/public-read";
import { jsonBody, jsonResponse, pure } from "../lib/schemas";
import { requireRole, signedIn } from "../middleware/authenticate";
import {
  NewProductSchema,
  ProductEditSchema,
  ProductListQuerySchema,
  ProductPageSchema,
  ProductSchema,
} from "./products.schemas";

// Any string: a malformed id is answered 404 PRODUCT_NOT_FOUND like an unknown one (never 400 or 500).
const ProductParams = pure(
  z.object({
    productId: z
      .string()
      .max(100)
      .openapi({ param: { name: "productId", in: "path" }, example: "01936b2c-7f00-7c3a-9d2e-5b1f0a4e8c11" }),
  }),
);

export const listProducts = createRoute({
  method: "get",
  path: "/api/v1/products",
  operationId: "listProducts",
  tags: ["Products"],
  summary: "Search and filter the catalogue",
  description:
    "Filters combine (AND); without `status`, DISCONTINUED products are left out. Paged by `page`/`size`, or by `cursor` (each page's `nextCursor`), which stays fast on deep pages. Cached for up to PRODUCT_CACHE_TTL_SECONDS: a list may lag behind stock changes by that long (a product's own page never does), and, once sent, as long again as a client or CDN keeps it. " +
    PUBLIC_READ_CACHING,
  security: [],
  request: { query: pure(ProductListQuerySchema) },
  responses: {
    200: { ...jsonResponse(ProductPageSchema, "One page of products"), headers: z.object(publicReadHeaders) },
    ...notModifiedResponse,
    ...problemResponses("VALIDATION_FAILED"),
  },
});

export const getProduct = createRoute({
  method: "get",
  path: "/api/v1/products/{productId}",
  operationId: "getProduct",
  tags: ["Products"],
  summary: "One product",
  description:
    "Cached on the server; always served with the stock and status after the latest committed order, payment or edit. " +
    PUBLIC_READ_CACHING,
  security: [],
  request: { params: ProductParams },
  responses: {
    200: { ...jsonResponse(ProductSchema, "The product"), headers: z.object(publicReadHeaders) },
    ...notModifiedResponse,
    ...problemResponses("PRODUCT_NOT_FOUND"),
  },
});

export const createProduct = createRoute({
  method: "post",
  path: "/api/v1/products",
  operationId: "createProduct",
  tags: ["Products"],
  summary: "Put a product on sale (SELLER, ADMIN)",
  description:
    "One product is one SKU. A sneaker sold in sizes carries `modelCode` and `shoeSize` (both or neither; fixed once created): one product per size, shown together on GET /api/v1/models/{modelCode}. A seller sells each (modelCode, shoeSize) once, modelCode compared in any case: a second is 409 SKU_TAKEN.",
  ...signedIn(requireRole("SELLER", "ADMIN")),
  request: { body: jsonBody(NewProductSchema) },
  responses: {
    201: jsonResponse(ProductSchema, "The new product, owned by the caller"),
    ...problemResponses(...BODY_PROBLEMS, "UNAUTHENTICATED", "FORBIDDEN", "SKU_TAKEN"),
  },
});

export const editProduct = createRoute({
  method: "patch",
  path: "/api/v1/products/{productId}",
  operationId: "editProduct",
  tags: ["Products"],
  summary: "Edit a product (its SELLER or an ADMIN)",
  description:
    "Send the `version` you read: if the product changed since (an edit, or any stock movement), the answer is 409 VERSION_CONFLICT with `currentVersion`, and nothing changes. `stock` sets the units that can still be ordered.",
  ...signedIn(),
  request: { params: ProductParams, body: jsonBody(ProductEditSchema) },
  responses: {
    200: jsonResponse(ProductSchema, "The edited product"),
    ...problemResponses(...BODY_PROBLEMS, "UNAUTHENTICATED", "FORBIDDEN", "PRODUCT_NOT_FOUND", "VERSION_CONFLICT"),
  },
});

export const discontinueProduct = createRoute({
  method: "post",
  path: "/api/v1/products/{productId}/discontinue",
  operationId: "discontinueProduct",
  tags: ["Products"],
  summary: "Take a product off sale for good (its SELLER or an ADMIN)",
  description:
    "It can no longer be ordered; orders already holding it go on. Discontinuing a discontinued product changes nothing and answers 200.",
  ...signedIn(),
  request: { params: ProductParams },
  responses: {
    200: jsonResponse(ProductSchema, "The discontinued product"),
    ...problemResponses("UNAUTHENTICATED", "FORBIDDEN", "PRODUCT_NOT_FOUND"),
  },
});

import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "../lib/openapi-problems";
import { notModifiedResponse, PUBLIC_READ_CACHING, publicReadHeaders } from "../lib/public-read";
import { jsonResponse, pure } from "../lib/schemas";
import { requireRole, signedIn } from "../middleware/authenticate";
import { PopularProductsSchema, PopularQuerySchema, SalesStatsQuerySchema, SalesStatsSchema } from "./sales.schemas";

export const listPopularProducts = createRoute({
  method: "get",
  path: "/api/v1/products/popular",
  operationId: "listPopularProducts",
  tags: ["Products"],
  summary: "Best sellers of the last days",
  description:
    "Products ranked by units sold in paid, not refunded orders over the last `days` Seoul days (today included); ties go to the larger sales amount, then the smaller product id. Cached for POPULAR_CACHE_TTL_SECONDS (`X-Cache: HIT` or `MISS`): however many ask for a cold window at once, it is aggregated once. " +
    PUBLIC_READ_CACHING,
  security: [],
  request: { query: pure(PopularQuerySchema) },
  responses: {
    200: {
      ...jsonResponse(PopularProductsSchema, "The ranking"),
      headers: z.object({
        ...publicReadHeaders,
        "X-Cache": z
          .enum(["HIT", "MISS"])
          .openapi({ description: "HIT: served from the cache; MISS: aggregated (or waited for) now" }),
      }),
    },
    ...notModifiedResponse,
    ...problemResponses("VALIDATION_FAILED"),
  },
});

export const getSalesStats = createRoute({
  method: "get",
  path: "/api/v1/stats/sales",
  operationId: "getSalesStats",
  tags: ["Statistics"],
  summary: "Sales totals per period, category, product or seller (ADMIN, SELLER)",
  description:
    "Only paid, not refunded sales count, on the Seoul day they were paid. A partial refund takes its amount off the order's lines in proportion to what each was paid (units and the order stay counted); a full refund or a cancellation after payment takes the order out entirely. A SELLER sees its own products only; `orderCount` counts distinct orders per group.",
  ...signedIn(requireRole("SELLER", "ADMIN")),
  request: { query: SalesStatsQuerySchema },
  responses: {
    200: jsonResponse(SalesStatsSchema, "The totals"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN"),
  },
});

import { createRouter } from "../lib/create-router";
import { getSalesStatsHandler, listPopularProductsHandler } from "./sales.handlers";
import { getSalesStats, listPopularProducts } from "./sales.routes";

/** Mounted before the products router: `/products/popular` must not be taken for a product id. */
export const salesRouter = createRouter()
  .openapi(listPopularProducts, listPopularProductsHandler)
  .openapi(getSalesStats, getSalesStatsHandler);

import type { AppRouteHandler } from "../lib/app-env";
import { publicJson } from "../lib/public-read";
import type { getSalesStats, listPopularProducts } from "./sales.routes";

export const listPopularProductsHandler: AppRouteHandler<typeof listPopularProducts> = async (c) => {
  const { days, limit } = c.req.valid("query");
  const popular = await c.get("services").popularProducts.read(days, limit);
  return publicJson(c, popular.body, { "X-Cache": popular.cache });
};

export const getSalesStatsHandler: AppRouteHandler<typeof getSalesStats> = async (c) =>
  c.json(await c.get("services").salesStats.totals(c.get("actor"), c.req.valid("query")), 200);

import { z } from "@hono/zod-openapi";
import { POPULAR_DAYS, POPULAR_LIMIT } from "../../domain/sales/popular-products";
import { SALES_GROUPINGS } from "../../domain/sales/ports";
import { STATS_DEFAULT_DAYS, STATS_MAX_DAYS } from "../../domain/sales/sales-stats";
import { isDay } from "../../domain/sales/seoul-days";
import { Krw, queryInteger, Timestamp } from "../lib/schemas";
import { ProductSchema } from "../products/products.schemas";

/** The contract's range of statistics days: period arithmetic stays within four-digit years. */
const FIRST_DAY = "2000-01-01";
const LAST_DAY = "2100-12-31";

const Day = z
  .string()
  .refine(isDay, "must be a calendar date written YYYY-MM-DD")
  .refine((day) => day >= FIRST_DAY && day <= LAST_DAY, `must be between ${FIRST_DAY} and ${LAST_DAY}`)
  .openapi({ format: "date", example: "2026-12-01" });

export const PopularQuerySchema = z.strictObject({
  days: queryInteger(1, POPULAR_DAYS.max).default(POPULAR_DAYS.default).openapi({
    type: "integer",
    minimum: 1,
    maximum: POPULAR_DAYS.max,
    example: 3,
    description: "Seoul days back, today included (1–30, default 3)",
  }),
  limit: queryInteger(1, POPULAR_LIMIT.max).default(POPULAR_LIMIT.default).openapi({
    type: "integer",
    minimum: 1,
    maximum: POPULAR_LIMIT.max,
    example: 5,
    description: "How many products (1–20, default 5)",
  }),
});

export const PopularProductsSchema = z
  .object({
    items: z.array(
      z.object({
        rank: z.number().int().openapi({ example: 1 }),
        product: ProductSchema,
        soldQuantity: z
          .number()
          .int()
          .openapi({ example: 42, description: "Units sold in paid, not refunded orders over the window" }),
        salesAmount: Krw.openapi({ description: "What was paid for them (after discounts, less refunds)" }),
      }),
    ),
    from: Day.openapi({ description: "First Seoul day of the window" }),
    to: Day.openapi({ description: "Last Seoul day of the window (today)" }),
    aggregatedAt: Timestamp.openapi({
      description: "When this ranking was computed (it is cached for POPULAR_CACHE_TTL_SECONDS)",
    }),
  })
  .openapi("PopularProducts");

export const SalesStatsQuerySchema = z.strictObject({
  from: Day.optional().openapi({
    description: `First Seoul day, inclusive (default: ${STATS_DEFAULT_DAYS - 1} days before \`to\`)`,
  }),
  to: Day.optional().openapi({
    description: `Last Seoul day, inclusive (default: today, or ${STATS_DEFAULT_DAYS - 1} days after \`from\`); at most ${STATS_MAX_DAYS} days after \`from\``,
  }),
  groupBy: z
    .enum(SALES_GROUPINGS)
    .default("day")
    .openapi({ description: "Totals per day, week (from Monday), month, category, product or seller (default day)" }),
});

export const SalesStatsSchema = z
  .object({
    items: z.array(
      z.object({
        key: z.string().openapi({
          example: "2026-12-01",
          description: "The period's first day (day, week, month), the category, the product id or the seller id",
        }),
        orderCount: z
          .number()
          .int()
          .openapi({ example: 12, description: "Distinct paid orders with sales in the group" }),
        quantity: z.number().int().openapi({ example: 15 }),
        salesAmount: Krw,
      }),
    ),
    from: Day,
    to: Day,
    groupBy: z.enum(SALES_GROUPINGS),
  })
  .openapi("SalesStats");

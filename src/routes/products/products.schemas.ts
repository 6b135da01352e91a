import { z } from "@hono/zod-openapi";
import { PRODUCT_SORTS } from "../../domain/catalogue/ports";
import { PRODUCT_STATUSES } from "../../domain/catalogue/product";
import { Krw, limitPageDepth, PageQuery, PlainText, queryInteger, Timestamp } from "../lib/schemas";

/** Prices and stock are bounded so that order totals stay exact integers far below 2^53. */
export const MAX_PRICE = 1_000_000_000;
export const MAX_STOCK = 1_000_000;

const Name = PlainText(200).trim().min(1).openapi({ example: "Air Max 1 '86 OG Big Bubble" });
const Brand = PlainText(60).trim().min(1).openapi({ example: "Nike" });
const Category = PlainText(60).trim().min(1).openapi({ example: "lifestyle" });
const Description = PlainText(5000, { multiline: true })
  .nullable()
  .openapi({ example: "The return of the original Big Bubble, in University Red." });
const Price = Krw.min(1)
  .max(MAX_PRICE)
  .openapi({ example: 189000, description: `KRW, 1 to ${MAX_PRICE}` });
const Units = (description: string) =>
  z
    .number()
    .int()
    .min(0)
    .max(MAX_STOCK)
    .openapi({ example: 40, description: `${description} (0 to ${MAX_STOCK})` });

export const ProductStatusSchema = z.enum(PRODUCT_STATUSES).openapi("ProductStatus", {
  description:
    "Derived from the counts: DISCONTINUED if discontinued; else AVAILABLE if stock > lowStockThreshold; LOW_STOCK if 0 < stock ≤ lowStockThreshold; with stock 0: RESERVED if reservedStock > 0, else SOLD if soldQuantity > 0, else OUT_OF_STOCK.",
});

export const ProductSchema = z
  .object({
    id: z.uuid(),
    sellerId: z.uuid(),
    name: Name,
    description: Description,
    brand: Brand,
    category: Category,
    price: Price,
    stock: z.number().int().openapi({ example: 37, description: "Units that can still be ordered" }),
    reservedStock: z.number().int().openapi({ example: 2, description: "Units held by unpaid orders" }),
    soldQuantity: z.number().int().openapi({ example: 1, description: "Units in paid, not refunded orders" }),
    status: ProductStatusSchema,
    onSale: z.boolean().openapi({ description: "status is AVAILABLE or LOW_STOCK" }),
    lowStockThreshold: z.number().int().openapi({ example: 5 }),
    version: z.number().int().openapi({
      example: 4,
      description: "Increments with every change, stock movements included; send it back with PATCH",
    }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Product");

export const NewProductSchema = z
  .object({
    name: Name,
    brand: Brand,
    category: Category,
    price: Price,
    stock: Units("Units on sale"),
    description: Description.optional(),
    lowStockThreshold: Units("At or below this many units the product shows LOW_STOCK; default 5").optional(),
  })
  .strict()
  .openapi("NewProduct");

export const ProductEditSchema = z
  .object({
    version: z.number().int().min(1).openapi({ example: 4, description: "The version the edit was based on" }),
    name: Name.optional(),
    brand: Brand.optional(),
    category: Category.optional(),
    price: Price.optional(),
    stock: Units("Units that can still be ordered, replacing the current figure").optional(),
    description: Description.optional(),
    lowStockThreshold: Units("LOW_STOCK threshold").optional(),
  })
  .strict()
  .refine((edit) => Object.keys(edit).length > 1, "send at least one field to change besides version")
  .openapi("ProductEdit");

export const ProductListQuerySchema = PageQuery.extend({
  q: PlainText(100).trim().min(1).optional().openapi({ description: "Part of the name, any case", example: "air max" }),
  category: Category.optional().openapi({ description: "Exact category, any case" }),
  brand: Brand.optional().openapi({ description: "Exact brand, any case" }),
  minPrice: queryInteger(0, MAX_PRICE).optional().openapi({ description: "Lowest price, inclusive", example: 100000 }),
  maxPrice: queryInteger(0, MAX_PRICE).optional().openapi({ description: "Highest price, inclusive", example: 250000 }),
  status: ProductStatusSchema.optional(),
  sort: z
    .enum(PRODUCT_SORTS)
    .default("newest")
    .openapi({ description: "newest (default), price_asc, price_desc, popular (units sold)" }),
  cursor: z.string().min(1).max(1000).optional().openapi({
    description:
      "The previous page's nextCursor (same filters and sort): keyset paging that stays fast on deep pages. Takes precedence over page.",
  }),
})
  .superRefine((query, ctx) => {
    if (query.minPrice !== undefined && query.maxPrice !== undefined && query.minPrice > query.maxPrice) {
      ctx.addIssue({ code: "custom", path: ["minPrice"], message: "must not be greater than maxPrice" });
    }
  })
  .superRefine(limitPageDepth({ cursor: true }));

export const ProductPageSchema = z
  .object({
    items: z.array(ProductSchema),
    page: z.number().int(),
    size: z.number().int(),
    total: z.number().int().openapi({ description: "Products matching the filters" }),
    nextCursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last" }),
  })
  .openapi("ProductPage");

import { z } from "@hono/zod-openapi";
import { MODEL_CODE_PATTERN } from "../../domain/catalogue/model-page";
import { PRODUCT_SORTS } from "../../domain/catalogue/ports";
import { PRODUCT_STATUSES, type ProductStatus } from "../../domain/catalogue/product";
import { Krw, limitPageDepth, PageQuery, PlainText, queryInteger, Timestamp, Uuid } from "../lib/schemas";

/** Prices and stock are bounded so that order totals stay exact integers far below 2^53. */
export const MAX_PRICE = 1_000_000_000;
export const MAX_STOCK = 1_000_000;

const Name = PlainText(200).trim().min(1).openapi({ example: "Air Max 1 '86 OG Big Bubble" });
const Brand = PlainText(60).trim().min(1).openapi({ example: "Nike" });
const Category = PlainText(60).trim().min(1).openapi({ example: "lifestyle" });
const Description = PlainText(5000, { multiline: true })
  .nullable()
  .openapi({ example: "The return of the original Big Bubble, in University Red." });
export const ModelCode = z.string().regex(MODEL_CODE_PATTERN, "must be 1–40 letters, digits or -").openapi({
  example: "DZ5485-612",
  description: "The manufacturer's style code: 1–40 letters, digits and -, compared case-insensitively",
});
const ShoeSize = PlainText(10)
  .trim()
  .min(1)
  .openapi({ example: "270", description: "This SKU's size, 1–10 characters (`270` mm, `US 9`)" });
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
    modelCode: ModelCode.nullable().openapi({ description: "The model this SKU is a size of (null: none)" }),
    shoeSize: z.string().nullable().openapi({ example: "270", description: "This SKU's size (null: none)" }),
    price: Price,
    stock: z.number().int().openapi({ example: 37, description: "Units that can still be ordered" }),
    reservedStock: z.number().int().openapi({ example: 2, description: "Units held by unpaid orders" }),
    soldQuantity: z.number().int().openapi({ example: 1, description: "Units in paid, not refunded orders" }),
    awaitingReturn: z.number().int().openapi({
      example: 0,
      description:
        "Units of orders refunded in full after they shipped: still with the buyer until the seller or an admin records their return (POST /orders/{orderId}/returns)",
    }),
    writtenOff: z.number().int().openapi({ example: 0, description: "Units returned DAMAGED: off the books for good" }),
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
  .openapi("Product", {
    description:
      "One SKU. Its counts always add up: stock + reservedStock + soldQuantity + awaitingReturn + writtenOff = units ever stocked.",
  });

export const NewProductSchema = z
  .object({
    name: Name,
    brand: Brand,
    category: Category,
    price: Price,
    stock: Units("Units on sale"),
    description: Description.optional(),
    lowStockThreshold: Units("At or below this many units the product shows LOW_STOCK; default 5").optional(),
    modelCode: ModelCode.optional().openapi({
      description:
        "The manufacturer's style code (1–40 letters, digits and -, any case), with `shoeSize`: both or neither. A seller sells each (modelCode, shoeSize) once (409 SKU_TAKEN); neither can be changed later.",
    }),
    shoeSize: ShoeSize.optional(),
  })
  .strict()
  .superRefine((product, ctx) => {
    if ((product.modelCode === undefined) !== (product.shoeSize === undefined)) {
      const missing = product.modelCode === undefined ? "modelCode" : "shoeSize";
      ctx.addIssue({
        code: "custom",
        path: [missing],
        message: "modelCode and shoeSize go together: send both or neither",
      });
    }
  })
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
  status: z
    .string()
    .transform((list, ctx) => {
      const statuses = list.split(",");
      const unknown = statuses.filter((status) => !(PRODUCT_STATUSES as readonly string[]).includes(status));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: "custom",
          message: `unknown status ${unknown.join(", ")}: use one or more of ${PRODUCT_STATUSES.join(", ")}, comma-separated`,
        });
        return z.NEVER;
      }
      return [...new Set(statuses)] as ProductStatus[];
    })
    .optional()
    .openapi({
      type: "string",
      example: "AVAILABLE,LOW_STOCK",
      description:
        "One status or several, comma-separated (any of them). Without it the list leaves DISCONTINUED products out; `status=DISCONTINUED` asks for them.",
    }),
  onSale: z
    .enum(["true", "false"])
    .transform((value) => value === "true")
    .optional()
    .openapi({ type: "boolean", description: "true: AVAILABLE or LOW_STOCK only; false: the others" }),
  sellerId: Uuid.optional().openapi({ description: "One seller's products" }),
  modelCode: ModelCode.optional().openapi({ description: "Sizes of this model (any case)" }),
  shoeSize: ShoeSize.optional().openapi({ description: "Products in this size (`size` is the page size)" }),
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

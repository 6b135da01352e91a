import { z } from "@hono/zod-openapi";
import { Krw, pure } from "../lib/schemas";
import { ModelCode, ProductStatusSchema } from "../products/products.schemas";

const ModelOfferSchema = z
  .object({
    productId: z.uuid(),
    sellerId: z.uuid(),
    price: Krw.openapi({ example: 229000 }),
    stock: z.number().int().openapi({ example: 3, description: "Units that can still be ordered" }),
    status: ProductStatusSchema,
    onSale: z.boolean().openapi({ description: "status is AVAILABLE or LOW_STOCK: it can be ordered" }),
  })
  .openapi("ModelOffer", { description: "One seller's product in this size (order it by `productId`)" });

const ModelSizeSchema = z
  .object({
    shoeSize: z.string().openapi({ example: "270" }),
    lowestPrice: Krw.nullable().openapi({
      example: 229000,
      description: "The lowest price among the size's offers on sale; null when none is",
    }),
    stock: z.number().int().openapi({ example: 7, description: "Units that can be ordered, over every offer" }),
    offers: z.array(ModelOfferSchema).openapi({ description: "On-sale offers first, each part cheapest first" }),
  })
  .openapi("ModelSize");

export const ModelSchema = z
  .object({
    modelCode: ModelCode,
    name: z.string().openapi({ example: 'Air Jordan 1 Retro High OG "Chicago Lost and Found"' }),
    brand: z.string().openapi({ example: "Jordan" }),
    category: z.string().openapi({ example: "basketball" }),
    sizes: z.array(ModelSizeSchema).openapi({
      description: "Sizes in order: numeric sizes (mm) numerically and first, then the others in natural order",
    }),
  })
  .openapi("Model", {
    description:
      "Every seller's live (not discontinued) offer of a model, by size. `modelCode`, `name`, `brand` and `category` are the newest offer's.",
  });

export const ModelParams = pure(
  z.object({
    modelCode: ModelCode.openapi({ param: { name: "modelCode", in: "path" } }),
  }),
);

import { z } from "@hono/zod-openapi";
import { RETURN_CONDITIONS } from "../../domain/returns/order-return";
import { Timestamp, Uuid } from "../lib/schemas";
import { MAX_LINE_QUANTITY, MAX_ORDER_LINES } from "../orders/orders.schemas";

export const ReturnConditionSchema = z.enum(RETURN_CONDITIONS).openapi("ReturnCondition", {
  description: "RESELLABLE: back on sale (stock). DAMAGED: written off (the product's `writtenOff`).",
});

const ReturnedUnitsSchema = z
  .strictObject({
    productId: Uuid,
    quantity: z
      .number()
      .int()
      .min(1)
      .max(MAX_LINE_QUANTITY)
      .openapi({ example: 1, description: `1 to ${MAX_LINE_QUANTITY}` }),
    condition: ReturnConditionSchema,
  })
  .openapi("ReturnedUnits");

export const RecordReturnSchema = z
  .strictObject({
    items: z
      .array(ReturnedUnitsSchema)
      .min(1)
      .max(2 * MAX_ORDER_LINES)
      .openapi({
        description:
          "What came back. A product may appear twice, once per condition (some pairs resellable, some damaged).",
      }),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.items.forEach((item, i) => {
      const key = `${item.productId} ${item.condition}`;
      if (seen.has(key)) {
        ctx.addIssue({
          code: "custom",
          path: ["items", i, "condition"],
          message: "this product is already listed in this condition",
        });
      }
      seen.add(key);
    });
  })
  .openapi("RecordReturn", {
    example: {
      items: [
        { productId: "0193a7c2-5f4e-7b1a-9c3d-2e8f6a1b4c5d", quantity: 1, condition: "RESELLABLE" },
        { productId: "0193a7c2-5f4e-7b1a-9c3d-2e8f6a1b4c5d", quantity: 1, condition: "DAMAGED" },
      ],
    },
  });

export const OrderReturnSchema = z
  .object({
    id: z.uuid(),
    orderId: z.uuid(),
    recordedBy: z.uuid().openapi({ description: "The seller or admin who recorded it" }),
    items: z.array(ReturnedUnitsSchema),
    awaiting: z
      .array(z.object({ productId: z.uuid(), quantity: z.number().int().openapi({ example: 1 }) }))
      .openapi({ description: "Units of the order still awaiting return after this one (empty: all recorded)" }),
    createdAt: Timestamp,
  })
  .openapi("OrderReturn");

import { z } from "@hono/zod-openapi";
import { REFUND_STATUSES } from "../../domain/refunds/refund-status";
import { Krw, PlainText, Timestamp, Uuid } from "../lib/schemas";

export const RefundSchema = z
  .object({
    id: z.uuid(),
    orderId: z.uuid(),
    paymentId: z.uuid(),
    amount: Krw,
    reason: z.string(),
    status: z.enum(REFUND_STATUSES).openapi({
      description:
        "REFUND_REQUESTED → PROCESSING → REFUNDED (balance credited) | FAILED (retried with backoff) → MANUAL after REFUND_MAX_ATTEMPTS (an alert is raised; the amount stays held)",
    }),
    attempts: z.number().int().openapi({ description: "Gateway tries made" }),
    lastError: z.string().optional(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Refund");

export const RequestRefundSchema = z
  .strictObject({
    orderId: Uuid,
    amount: Krw.min(1)
      .optional()
      .openapi({ description: "KRW to refund; defaults to everything still refundable", example: 50000 }),
    reason: PlainText(500).trim().min(1).openapi({ example: "Wrong size" }),
  })
  .openapi("RequestRefund");

import { z } from "@hono/zod-openapi";
import { PAYMENT_STATUSES } from "../../domain/payments/payment-status";
import { Krw, Timestamp, Uuid } from "../lib/schemas";

export const PaymentStatusSchema = z.enum(PAYMENT_STATUSES).openapi("PaymentStatus", {
  description: "INITIATED → VALIDATING → LOCK_ACQUIRED → DEBITED → GATEWAY_REQUESTED → COMPLETED | FAILED",
});

export const PaymentSchema = z
  .object({
    id: z.uuid(),
    orderId: z.uuid(),
    userId: z.uuid(),
    amount: Krw,
    status: PaymentStatusSchema,
    failureReason: z.string().optional().openapi({
      description:
        "Why a FAILED payment failed: INSUFFICIENT_BALANCE, ORDER_NOT_PAYABLE, PAYMENT_IN_PROGRESS, the gateway's decline reason, NOT_RECEIVED_BY_GATEWAY, ABANDONED",
      example: "INSUFFICIENT_BALANCE",
    }),
    gatewayTransactionId: z.string().optional(),
    history: z
      .array(z.object({ status: PaymentStatusSchema, at: Timestamp }))
      .openapi({ description: "Every step the payment took, oldest first" }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi("Payment");

export const ProcessPaymentSchema = z.strictObject({ orderId: Uuid }).openapi("ProcessPayment");
export const ConfirmPaymentSchema = z.strictObject({ paymentId: Uuid }).openapi("ConfirmPayment");

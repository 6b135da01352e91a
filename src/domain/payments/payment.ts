import type { PaymentStatus } from "./payment-status";

export interface Payment {
  id: string;
  orderId: string;
  userId: string;
  amount: number;
  status: PaymentStatus;
  failureReason: string | null;
  gatewayTransactionId: string | null;
  /** Until then a charge POST of ours may still reach the gateway (null before GATEWAY_REQUESTED). */
  chargeWindowEndsAt: Date | null;
  history: { status: PaymentStatus; at: Date }[];
  createdAt: Date;
  updatedAt: Date;
}

/** The contract's payment shape. */
export function toPaymentView(payment: Payment) {
  return {
    id: payment.id,
    orderId: payment.orderId,
    userId: payment.userId,
    amount: payment.amount,
    status: payment.status,
    ...(payment.failureReason ? { failureReason: payment.failureReason } : {}),
    ...(payment.gatewayTransactionId ? { gatewayTransactionId: payment.gatewayTransactionId } : {}),
    history: payment.history.map((step) => ({ status: step.status, at: step.at.toISOString() })),
    createdAt: payment.createdAt.toISOString(),
    updatedAt: payment.updatedAt.toISOString(),
  };
}

export type PaymentView = ReturnType<typeof toPaymentView>;

/**
 * Whether the payment a keyed request made is that request's answer for its replays: a COMPLETED payment no longer
 * changes, so its key keeps no copy of the 200 (see idempotentAcrossCommits); any other is still moving or was
 * answered otherwise.
 */
export const answersItsRequest = (payment: Payment): boolean => payment.status === "COMPLETED";

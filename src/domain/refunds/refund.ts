import type { RefundStatus } from "./refund-status";

export interface Refund {
  id: string;
  orderId: string;
  paymentId: string;
  userId: string;
  amount: number;
  reason: string;
  status: RefundStatus;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The contract's refund shape (plus the last failure, for whoever looks at a MANUAL one). */
export function toRefundView(refund: Refund) {
  return {
    id: refund.id,
    orderId: refund.orderId,
    paymentId: refund.paymentId,
    amount: refund.amount,
    reason: refund.reason,
    status: refund.status,
    attempts: refund.attempts,
    ...(refund.lastError ? { lastError: refund.lastError } : {}),
    createdAt: refund.createdAt.toISOString(),
    updatedAt: refund.updatedAt.toISOString(),
  };
}

export type RefundView = ReturnType<typeof toRefundView>;

export interface NewRefund {
  id: string;
  orderId: string;
  paymentId: string;
  userId: string;
  amount: number;
  reason: string;
}

export interface RefundRepository {
  create(refund: NewRefund): Promise<Refund>;
  find(id: string): Promise<Refund | undefined>;
  /**
   * Starts a try: REFUND_REQUESTED or FAILED (or PROCESSING whose lease ran out) → PROCESSING, attempts + 1,
   * leased for `leaseSeconds`. Undefined when the refund is not up for a try.
   */
  claim(id: string, leaseSeconds: number): Promise<Refund | undefined>;
  /** Refunds due for another try (FAILED past their backoff, PROCESSING past their lease), claimed at once (SKIP LOCKED). */
  claimDue(limit: number, leaseSeconds: number): Promise<string[]>;
  /** Ends a try, if it is still PROCESSING: REFUNDED, FAILED (tried again after `retryInMs`) or MANUAL. */
  settle(
    id: string,
    to: "REFUNDED" | "FAILED" | "MANUAL",
    fields?: { lastError?: string; retryInMs?: number },
  ): Promise<Refund | undefined>;
}

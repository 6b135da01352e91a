import type { RefundStatus } from "./refund-status";

export interface Refund {
  id: string;
  orderId: string;
  paymentId: string;
  userId: string;
  amount: number;
  reason: string;
  /** Who asked, and the Idempotency-Key and body fingerprint of the request that made it (if keyed). */
  requestedBy: string | null;
  idempotencyKey: string | null;
  requestHash: string | null;
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
  requestedBy: string;
  idempotencyKey?: string;
  requestHash?: string;
}

/** A try's hold on a refund: `attempts` as it was claimed is the fencing token every outcome must present. */
export type RefundTry = Pick<Refund, "id" | "attempts">;

export interface RefundRepository {
  /** Records a refund REFUND_REQUESTED (due at once); undefined if its requester already used its key. */
  create(refund: NewRefund): Promise<Refund | undefined>;
  find(id: string): Promise<Refund | undefined>;
  /** The refund a request with this Idempotency-Key (of this requester) made, if any. */
  findByRequest(requestedBy: string, idempotencyKey: string): Promise<Refund | undefined>;
  /**
   * Starts a try: a refund not final whose due time has come (REFUND_REQUESTED at once; FAILED past its
   * backoff; PROCESSING past its lease: that try's process died) → PROCESSING, attempts + 1, leased for
   * `leaseSeconds`. Undefined when it is not up for a try (another process holds it, or it is final).
   */
  claim(id: string, leaseSeconds: number): Promise<Refund | undefined>;
  /** Up to `limit` refunds due for a try, longest waiting first (not claimed: each try claims its own). */
  dueIds(limit: number): Promise<string[]>;
  /**
   * Ends a try, only if it still holds the refund (its attempts unchanged: nobody took it over) and the
   * machine allows the move: REFUNDED, FAILED (tried again after `retryInMs`) or MANUAL.
   */
  settle(
    held: RefundTry,
    to: "REFUNDED" | "FAILED" | "MANUAL",
    fields?: { lastError?: string; retryInMs?: number },
  ): Promise<Refund | undefined>;
}

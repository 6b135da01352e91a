export const REFUND_STATUSES = ["REFUND_REQUESTED", "PROCESSING", "REFUNDED", "FAILED", "MANUAL"] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/**
 * The refund machine (contract: Refunds). A refund is tried (PROCESSING), then REFUNDED or FAILED; a failed
 * one is tried again with backoff until REFUND_MAX_ATTEMPTS, then left MANUAL (an alert is raised). Until it
 * is REFUNDED its amount stays reserved against the order's refundable remainder.
 */
export const REFUND_TRANSITIONS: Readonly<Record<RefundStatus, readonly RefundStatus[]>> = {
  // → REFUNDED at once: a refund of nothing (an order paid in full by a coupon) has nothing to ask the gateway.
  REFUND_REQUESTED: ["PROCESSING", "REFUNDED"],
  // PROCESSING → PROCESSING: a try whose process died is taken over once its lease has run out.
  PROCESSING: ["REFUNDED", "FAILED", "MANUAL", "PROCESSING"],
  FAILED: ["PROCESSING"],
  REFUNDED: [],
  MANUAL: [],
};

export const canMoveRefund = (from: RefundStatus, to: RefundStatus) => REFUND_TRANSITIONS[from].includes(to);

export const refundStatusesBefore = (to: RefundStatus) => REFUND_STATUSES.filter((from) => canMoveRefund(from, to));

/** Not final: the refund's amount is held, and some process must still take it to REFUNDED or MANUAL. */
export const UNFINISHED_REFUND_STATUSES = REFUND_STATUSES.filter((status) => REFUND_TRANSITIONS[status].length > 0);

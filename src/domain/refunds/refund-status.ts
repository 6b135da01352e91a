import { defineMachine, transitionsFrom } from "../shared/state-machine";

export const REFUND_STATUSES = ["REFUND_REQUESTED", "PROCESSING", "REFUNDED", "FAILED", "MANUAL"] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/**
 * The refund machine (contract: Refunds). A refund is tried (PROCESSING), then REFUNDED or FAILED; a failed
 * one is tried again with backoff until REFUND_MAX_ATTEMPTS, then left MANUAL (an alert is raised). Until it
 * is REFUNDED its amount stays reserved against the order's refundable remainder.
 */
export const REFUND_MACHINE = defineMachine({
  name: "refund",
  statuses: REFUND_STATUSES,
  transitions: transitionsFrom<RefundStatus>({
    // → REFUNDED at once: a refund of nothing (an order paid in full by a coupon) has nothing to ask the gateway.
    REFUND_REQUESTED: ["PROCESSING", "REFUNDED"],
    // PROCESSING → PROCESSING: a try whose process died is taken over once its lease has run out.
    PROCESSING: ["REFUNDED", "FAILED", "MANUAL", "PROCESSING"],
    FAILED: ["PROCESSING"],
    REFUNDED: [],
    MANUAL: [],
  }),
});

/** The conditional updates of the refund repository: each takes its source statuses from the machine. */
export const REFUND_MOVES = {
  /** A try claims the refund (attempts + 1, a lease). */
  claim: REFUND_MACHINE.move("PROCESSING"),
  land: REFUND_MACHINE.move("REFUNDED"),
  fail: REFUND_MACHINE.move("FAILED"),
  leaveToPerson: REFUND_MACHINE.move("MANUAL"),
} as const;

/** Not final: the refund's amount is held, and some process must still take it to REFUNDED or MANUAL. */
export const UNFINISHED_REFUND_STATUSES = REFUND_STATUSES.filter((status) => !REFUND_MACHINE.isFinal(status));

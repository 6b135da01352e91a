import { defineMachine, transitionsFrom } from "../shared/state-machine";

export const PAYMENT_STATUSES = [
  "INITIATED",
  "VALIDATING",
  "LOCK_ACQUIRED",
  "DEBITED",
  "GATEWAY_REQUESTED",
  "COMPLETED",
  "FAILED",
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/**
 * The payment machine (contract: Payments). Each step is persisted before the side effect it leads to:
 * the order is held (LOCK_ACQUIRED) before the balance is debited (DEBITED), and GATEWAY_REQUESTED is
 * committed before the gateway is called, so a crash at any point leaves a payment whose state says what
 * has happened. Any step before the outcome may fail.
 */
export const PAYMENT_MACHINE = defineMachine({
  name: "payment",
  statuses: PAYMENT_STATUSES,
  transitions: transitionsFrom<PaymentStatus>({
    INITIATED: ["VALIDATING", "FAILED"],
    VALIDATING: ["LOCK_ACQUIRED", "FAILED"],
    LOCK_ACQUIRED: ["DEBITED", "FAILED"],
    DEBITED: ["GATEWAY_REQUESTED", "FAILED"],
    GATEWAY_REQUESTED: ["COMPLETED", "FAILED"],
    COMPLETED: [],
    FAILED: [],
  }),
});

/** The payment repository's moves that the table alone does not name. */
export const PAYMENT_MOVES = {
  /** A payment whose process died before it touched the order or the balance: failed with nothing to undo. */
  abandon: PAYMENT_MACHINE.move("FAILED", { only: ["INITIATED", "VALIDATING"] }),
} as const;

/**
 * Whether `steps` is a walk the machine allows, each step from the one before (the first from any status the
 * machine allows it from): steps committed together are still each a legal move, recorded in order.
 */
export const isPaymentPath = (steps: readonly PaymentStatus[]) =>
  steps.length > 0 && steps.every((step, i) => i === 0 || PAYMENT_MACHINE.can(steps[i - 1] as PaymentStatus, step));

/** Payments that hold their order: only one such payment per order (a partial unique index). */
export const HOLDING_STATUSES: readonly PaymentStatus[] = PAYMENT_STATUSES.filter((status) => status !== "FAILED");

/**
 * The walks a payment's start takes in its one statement (PaymentRepository.start), each a walk of the machine:
 * the order held and the balance debited up to the gateway step, or refused as FAILED with the steps it took
 * (the order could not be held; the balance was short once the order was held), nothing held, nothing debited.
 */
export const START_WALKS = {
  requested: ["INITIATED", "VALIDATING", "LOCK_ACQUIRED", "DEBITED", "GATEWAY_REQUESTED"],
  orderNotPayable: ["INITIATED", "VALIDATING", "FAILED"],
  insufficientBalance: ["INITIATED", "VALIDATING", "LOCK_ACQUIRED", "FAILED"],
} as const satisfies Record<string, readonly PaymentStatus[]>;

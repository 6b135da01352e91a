import { DomainError } from "../shared/errors";
import { defineMachine, type Transition } from "../shared/state-machine";

export const ORDER_STATUSES = [
  "CREATED",
  "CONFIRMED",
  "PREPARING",
  "SHIPPED",
  "DELIVERED",
  "COMPLETED",
  "CANCELLED",
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** What moves an order from one status to the next. */
export type OrderEvent = "pay" | "advance" | "autoComplete" | "cancel" | "refund";

/** Who an order's step is up to: a seller of its items, its buyer, or an admin. */
export type OrderParty = "seller" | "buyer" | "admin";

interface OrderTransition extends Transition<OrderStatus, OrderEvent> {
  by: OrderEvent;
  /** For `advance` (PATCH …/status): who may make this step. */
  parties?: readonly OrderParty[];
}

/**
 * The order machine, all of it. Payment confirms a CREATED order; fulfilment moves it one step at a time
 * (a seller of its items or an admin, up to DELIVERED); receipt, DELIVERED → COMPLETED, is confirmed by the
 * buyer or an admin, never by the seller (or by itself ORDER_AUTO_COMPLETE_DAYS after delivery); a CREATED
 * order is cancelled by its buyer, an admin or expiry; cancelling a CONFIRMED or PREPARING one refunds it in
 * full, and any paid order refunded in full (partial refunds adding up included) ends CANCELLED.
 */
export const ORDER_TRANSITIONS: readonly OrderTransition[] = [
  { from: "CREATED", to: "CONFIRMED", by: "pay" },
  { from: "CONFIRMED", to: "PREPARING", by: "advance", parties: ["seller", "admin"] },
  { from: "PREPARING", to: "SHIPPED", by: "advance", parties: ["seller", "admin"] },
  { from: "SHIPPED", to: "DELIVERED", by: "advance", parties: ["seller", "admin"] },
  { from: "DELIVERED", to: "COMPLETED", by: "advance", parties: ["buyer", "admin"] },
  { from: "DELIVERED", to: "COMPLETED", by: "autoComplete" },
  { from: "CREATED", to: "CANCELLED", by: "cancel" },
  { from: "CONFIRMED", to: "CANCELLED", by: "cancel" },
  { from: "PREPARING", to: "CANCELLED", by: "cancel" },
  { from: "CONFIRMED", to: "CANCELLED", by: "refund" },
  { from: "PREPARING", to: "CANCELLED", by: "refund" },
  { from: "SHIPPED", to: "CANCELLED", by: "refund" },
  { from: "DELIVERED", to: "CANCELLED", by: "refund" },
  { from: "COMPLETED", to: "CANCELLED", by: "refund" },
];

export const ORDER_MACHINE = defineMachine({
  name: "order",
  statuses: ORDER_STATUSES,
  transitions: ORDER_TRANSITIONS,
  refuse: ({ from, to }) =>
    new DomainError("INVALID_ORDER_TRANSITION", `An order cannot move from ${from} to ${to}`, undefined, {
      currentStatus: from,
    }),
});

/** Statuses in which a paid order may be refunded (contract: Refunds): those a full refund leaves. */
export const REFUNDABLE_STATUSES: readonly OrderStatus[] = ORDER_MACHINE.sourcesOf("CANCELLED", "refund");

/** Statuses in which the order is not paid yet: what payment starts from. */
export const UNPAID_STATUSES: readonly OrderStatus[] = ORDER_MACHINE.sourcesOf("CONFIRMED", "pay");

/** Statuses in which the buyer's cancel is a full refund (contract: Orders); earlier, it simply cancels. */
export const CANCEL_BY_REFUND_STATUSES: readonly OrderStatus[] = ORDER_MACHINE.sourcesOf("CANCELLED", "cancel").filter(
  (status) => !UNPAID_STATUSES.includes(status),
);

/**
 * Statuses in which the order's units have left the shop (refundable but no longer cancellable): a full refund
 * in them puts no unit back on sale; the units wait for their return to be recorded (contract: Returns).
 */
export const UNITS_WITH_BUYER_STATUSES: readonly OrderStatus[] = REFUNDABLE_STATUSES.filter(
  (status) => !CANCEL_BY_REFUND_STATUSES.includes(status),
);

/**
 * The order repository's conditional updates, each with the statuses it may start from taken from the machine
 * (fulfilment steps check their one `from` against `ORDER_MACHINE` with the event "advance").
 */
export const ORDER_MOVES = {
  /** Payment lands: the order the payment holds is CONFIRMED. */
  pay: ORDER_MACHINE.move("CONFIRMED", { by: "pay" }),
  /** An unpaid order cancelled by its buyer, an admin or expiry (a paid one is cancelled by a full refund). */
  cancelUnpaid: ORDER_MACHINE.move("CANCELLED", { by: "cancel", only: UNPAID_STATUSES }),
  /** Refunds add up to what was paid. */
  cancelRefunded: ORDER_MACHINE.move("CANCELLED", { by: "refund" }),
  /** ORDER_AUTO_COMPLETE_DAYS after delivery. */
  autoComplete: ORDER_MACHINE.move("COMPLETED", { by: "autoComplete" }),
} as const;

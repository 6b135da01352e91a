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

interface Transition {
  from: OrderStatus;
  to: OrderStatus;
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
export const ORDER_TRANSITIONS: readonly Transition[] = [
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

/** The transition from `from` to `to` by `by`, if the machine has one. */
export function orderTransition(from: OrderStatus, to: OrderStatus, by: OrderEvent): Transition | undefined {
  return ORDER_TRANSITIONS.find((t) => t.from === from && t.to === to && t.by === by);
}

/** Statuses in which a paid order may be refunded (contract: Refunds): those a full refund leaves. */
export const REFUNDABLE_STATUSES: readonly OrderStatus[] = ORDER_TRANSITIONS.filter((t) => t.by === "refund").map(
  (t) => t.from,
);

/** Statuses in which the buyer's cancel is a full refund (contract: Orders); earlier, it simply cancels. */
export const CANCEL_BY_REFUND_STATUSES: readonly OrderStatus[] = ORDER_TRANSITIONS.filter(
  (t) => t.by === "cancel" && t.from !== "CREATED",
).map((t) => t.from);

/**
 * Statuses in which the order's units have left the shop (refundable but no longer cancellable): a full refund
 * in them puts no unit back on sale; the units wait for their return to be recorded (contract: Returns).
 */
export const UNITS_WITH_BUYER_STATUSES: readonly OrderStatus[] = REFUNDABLE_STATUSES.filter(
  (status) => !CANCEL_BY_REFUND_STATUSES.includes(status),
);

import type { Role } from "../users/user";

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
export type OrderEvent = "pay" | "advance" | "cancel" | "refund";

interface Transition {
  from: OrderStatus;
  to: OrderStatus;
  by: OrderEvent;
  /** For `advance` (PATCH …/status): who may make this step. */
  roles?: readonly Role[];
}

/**
 * The order machine, all of it. Payment confirms a CREATED order; fulfilment moves it one step at a time
 * (the seller of its items or an admin; the buyer only confirms receipt, DELIVERED → COMPLETED); a CREATED
 * order is cancelled by its buyer, an admin or expiry; cancelling a CONFIRMED or PREPARING one refunds it in
 * full, and any paid order refunded in full (partial refunds adding up included) ends CANCELLED.
 */
export const ORDER_TRANSITIONS: readonly Transition[] = [
  { from: "CREATED", to: "CONFIRMED", by: "pay" },
  { from: "CONFIRMED", to: "PREPARING", by: "advance", roles: ["SELLER", "ADMIN"] },
  { from: "PREPARING", to: "SHIPPED", by: "advance", roles: ["SELLER", "ADMIN"] },
  { from: "SHIPPED", to: "DELIVERED", by: "advance", roles: ["SELLER", "ADMIN"] },
  { from: "DELIVERED", to: "COMPLETED", by: "advance", roles: ["SELLER", "ADMIN", "BUYER"] },
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

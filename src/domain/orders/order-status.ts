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
export type OrderEvent = "pay" | "advance" | "cancel";

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
 * order is cancelled by its buyer, an admin or expiry, a CONFIRMED or PREPARING one by a full refund.
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
];

/** The transition from `from` to `to` by `by`, if the machine has one. */
export function orderTransition(from: OrderStatus, to: OrderStatus, by: OrderEvent): Transition | undefined {
  return ORDER_TRANSITIONS.find((t) => t.from === from && t.to === to && t.by === by);
}

/** Statuses in which a paid order may be refunded (contract: Refunds). */
export const REFUNDABLE_STATUSES: readonly OrderStatus[] = [
  "CONFIRMED",
  "PREPARING",
  "SHIPPED",
  "DELIVERED",
  "COMPLETED",
];

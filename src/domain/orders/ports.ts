import type { Product } from "../catalogue/product";
import type { Page, PageRequest } from "../shared/paging";
import type { CancelReason, Order } from "./order";
import type { OrderStatus } from "./order-status";

export type NewOrder = Pick<
  Order,
  | "id"
  | "userId"
  | "items"
  | "subtotal"
  | "discountAmount"
  | "totalAmount"
  | "userCouponId"
  | "couponApplied"
  | "couponRejectedReason"
> & {
  /** When it is created: the database's time its products were read at (CatalogueService.productsByIdsAt). */
  createdAt: Date;
  /** Seconds from `createdAt` until an unpaid order expires. */
  paymentTimeoutSeconds: number;
};

/** ORDER_CREATED as the order's statement writes it with the order (its payload: the order as it is written). */
export interface OrderCreated {
  id: string;
  payload: unknown;
}

/** An order as placed, and what its reservation moved (the products' cached details are dropped by it). */
export interface PlacedOrder {
  order: Order;
  reserved: Pick<Product, "id" | "version" | "modelCode">[];
  /**
   * Placed and committed by a statement outside the caller's transaction (a group's, order-repository.ts): it
   * stands whether that transaction commits or rolls back.
   */
  committed?: boolean;
}

export interface OrderFilter {
  userId?: string;
  status?: OrderStatus;
  /** Only orders this user placed or that hold products this user sells (a seller's view). */
  visibleTo?: string;
}

export interface OrderRepository {
  /**
   * Reserves every line's stock at the price charged (`unitPrice`) and records the order with its lines, in one
   * statement, all or nothing: undefined, having written nothing, when a line could not be reserved (short,
   * discontinued or repriced; the caller reads the products to say which). `created` (ORDER_CREATED) is written
   * by the same statement, only with the order.
   */
  place(order: NewOrder, created: OrderCreated): Promise<PlacedOrder | undefined>;
  find(id: string): Promise<Order | undefined>;
  list(filter: OrderFilter, page: PageRequest): Promise<Page<Order>>;
  /** CREATED → CANCELLED if no payment holds the order; undefined when that condition did not hold. */
  cancelUnpaid(id: string, reason: CancelReason): Promise<Order | undefined>;
  /** One step of fulfilment, if the order is still in `from`; a step to SHIPPED records `at` as shippedAt, to DELIVERED as deliveredAt. */
  advance(id: string, from: OrderStatus, to: OrderStatus, at: Date): Promise<Order | undefined>;
  /**
   * DELIVERED → COMPLETED for up to `limit` orders delivered at or before `deliveredBy`, in one statement that
   * claims them with SKIP LOCKED (sweepers on several instances never wait for or take the same order). Their ids.
   */
  completeDelivered(deliveredBy: Date, limit: number): Promise<string[]>;
  /**
   * Ids of CREATED orders past their deadline with no payment in flight, locked for the caller's transaction
   * (FOR UPDATE SKIP LOCKED: several sweepers never take the same order), and the products of their lines locked
   * too, in product-id order (the lock order of every writer of products, across the batch's orders).
   */
  claimExpired(limit: number): Promise<string[]>;

  // ---- for payments and refunds (each a conditional update; undefined/false when its condition failed)
  /** Lets go of an order this payment held (the payment failed). */
  releasePaymentHold(orderId: string, paymentId: string): Promise<void>;
  /** The order, its row locked until the caller's transaction ends (refund amounts are decided under it). */
  lockForRefund(orderId: string): Promise<Order | undefined>;
  /** Holds `amount` of the refundable remainder for a refund in progress. */
  holdRefund(orderId: string, amount: number): Promise<void>;
  /** A refund landed: `amount` moves from held to refunded. */
  settleRefund(orderId: string, amount: number): Promise<Order>;
  /** A paid order refunded in full → CANCELLED (REFUNDED). */
  cancelRefunded(orderId: string): Promise<Order | undefined>;
}

/** What the order needs of the coupons context (implemented by the coupon service). */
export type CouponRedemptionResult = { applied: true; discountAmount: number } | { applied: false; reason: string };

export interface CouponRedemption {
  /** Uses the user coupon on this order inside the caller's transaction (→ USED, COUPON_USED), or says why not. */
  redeemForOrder(request: {
    userCouponId: string;
    userId: string;
    orderId: string;
    subtotal: number;
  }): Promise<CouponRedemptionResult>;
  /** The order's coupon back to its buyer (USED → REFUNDED, COUPON_RESTORED), inside the caller's transaction. */
  restoreForOrder(orderId: string): Promise<unknown>;
}

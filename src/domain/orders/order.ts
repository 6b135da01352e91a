import type { OrderStatus } from "./order-status";

export interface OrderLine {
  productId: string;
  sellerId: string;
  productName: string;
  category: string;
  unitPrice: number;
  quantity: number;
  lineTotal: number;
  /** This line's part of the order's discount. */
  discountShare: number;
  /** The part of the order's landed refunds taken from this line so far. */
  refundedAmount: number;
}

export type CancelReason = "CANCELLED_BY_BUYER" | "CANCELLED_BY_ADMIN" | "EXPIRED" | "REFUNDED";

export interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  items: OrderLine[];
  subtotal: number;
  discountAmount: number;
  totalAmount: number;
  userCouponId: string | null;
  couponApplied: boolean;
  couponRejectedReason: string | null;
  paymentId: string | null;
  paidAmount: number;
  refundedAmount: number;
  refundPendingAmount: number;
  expiresAt: Date;
  paidAt: Date | null;
  shippedAt: Date | null;
  deliveredAt: Date | null;
  cancelledAt: Date | null;
  cancelReason: CancelReason | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The contract's order shape (plus what was paid and refunded, and why an order was cancelled). */
export function toOrderView(order: Order) {
  return {
    id: order.id,
    userId: order.userId,
    status: order.status,
    items: order.items.map((line) => ({
      productId: line.productId,
      productName: line.productName,
      unitPrice: line.unitPrice,
      quantity: line.quantity,
      lineTotal: line.lineTotal,
    })),
    subtotal: order.subtotal,
    discountAmount: order.discountAmount,
    totalAmount: order.totalAmount,
    userCouponId: order.userCouponId,
    couponApplied: order.couponApplied,
    ...(order.couponRejectedReason ? { couponRejectedReason: order.couponRejectedReason } : {}),
    ...(order.paymentId ? { paymentId: order.paymentId } : {}),
    paidAmount: order.paidAmount,
    refundedAmount: order.refundedAmount,
    ...(order.cancelReason ? { cancelReason: order.cancelReason } : {}),
    expiresAt: order.expiresAt.toISOString(),
    ...(order.shippedAt ? { shippedAt: order.shippedAt.toISOString() } : {}),
    ...(order.deliveredAt ? { deliveredAt: order.deliveredAt.toISOString() } : {}),
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

export type OrderView = ReturnType<typeof toOrderView>;

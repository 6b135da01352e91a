import type { Order, OrderLine } from "../orders/order";
import { allocateProportionally } from "../orders/pricing";
import { type Day, seoulDay } from "./seoul-days";

/** A change to one product's sales of one Seoul day (positive when paid, negative when refunded). */
export interface SalesDelta {
  salesDay: Day;
  productId: string;
  category: string;
  sellerId: string;
  quantity: number;
  salesAmount: number;
  orderLines: number;
  /** The order itself, counted on its first line only, and so on per seller, category, seller + category. */
  orders: number;
  sellerOrders: number;
  categoryOrders: number;
  sellerCategoryOrders: number;
}

/** What each line was really paid: its total less its share of the discount. */
const paidFor = (line: OrderLine) => line.lineTotal - line.discountShare;

/**
 * Lines in product id order: the order rows are written in, the one that decides each "first line", and the
 * order of refundShares' shares.
 */
export function byProduct(order: Order): OrderLine[] {
  return [...order.items].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}

/** The sales a completed payment adds, on the Seoul day it was paid. */
export function salesOfPayment(order: Order): SalesDelta[] {
  return countedLines(order, 1).map(({ line, counts }) => ({
    ...key(order, line),
    quantity: line.quantity,
    salesAmount: paidFor(line),
    orderLines: 1,
    ...counts,
  }));
}

/**
 * How a refund of `amount` is taken from an order's lines (product id order): in proportion to what is left
 * of each (paid less refunded so far), in whole won. So no line ever gives back more than it was paid, a
 * later refund never adds to a line, and the refunds of an order add up to exactly what it was paid.
 * `order` is the order before this refund's split (its lines' `refundedAmount`).
 */
export function refundShares(order: Order, amount: number): number[] {
  return allocateProportionally(
    byProduct(order).map((line) => paidFor(line) - line.refundedAmount),
    amount,
  );
}

/**
 * The sales a landed refund takes back, from the day the order was paid: each line its share (see
 * refundShares). A refund is an amount, not a return of units; the refund that completes the order's
 * refunding (which cancels it) also takes back its units and its order counts.
 */
export function salesOfRefund(order: Order, shares: number[], fullyRefunded: boolean): SalesDelta[] {
  return countedLines(order, fullyRefunded ? -1 : 0).map(({ line, counts }, index) => ({
    ...key(order, line),
    quantity: fullyRefunded ? -line.quantity : 0,
    salesAmount: -(shares[index] as number),
    orderLines: fullyRefunded ? -1 : 0,
    ...counts,
  }));
}

function key(order: Order, line: OrderLine) {
  if (!order.paidAt) throw new Error(`order ${order.id} has no payment time`);
  return {
    salesDay: seoulDay(order.paidAt),
    productId: line.productId,
    category: line.category,
    sellerId: line.sellerId,
  };
}

/** Each line with the order counts it carries (`sign` per first line of its grouping, else 0). */
function countedLines(order: Order, sign: 1 | -1 | 0) {
  const seen = new Set<string>();
  const first = (grouping: string) => {
    if (seen.has(grouping)) return 0;
    seen.add(grouping);
    return sign;
  };
  return byProduct(order).map((line) => ({
    line,
    counts: {
      orders: first("order"),
      sellerOrders: first(`seller:${line.sellerId}`),
      categoryOrders: first(`category:${line.category}`),
      sellerCategoryOrders: first(`seller-category:${line.sellerId}:${line.category}`),
    },
  }));
}

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

/** Lines in product id order: the order rows are written in, and the one that decides each "first line". */
function byProduct(order: Order): OrderLine[] {
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
 * The sales a landed refund takes back, from the day the order was paid. A refund is an amount, not a
 * return of units: it is split over the lines in proportion to what each was paid, taken as the difference
 * of two running splits (everything refunded after it, less everything before it), so however the refunds
 * of an order were cut, they add up to exactly what each line was paid. The refund that completes the
 * order's refunding (which cancels it) also takes back its units and its order counts.
 * `order` is the order after the refund was settled (its `refundedAmount` includes `amount`).
 */
export function salesOfRefund(order: Order, amount: number, fullyRefunded: boolean): SalesDelta[] {
  const lines = byProduct(order);
  const paid = lines.map(paidFor);
  const after = allocateProportionally(paid, order.refundedAmount);
  const before = allocateProportionally(paid, order.refundedAmount - amount);
  const counted = countedLines(order, fullyRefunded ? -1 : 0);
  return counted.map(({ line, counts }, index) => ({
    ...key(order, line),
    quantity: fullyRefunded ? -line.quantity : 0,
    salesAmount: -((after[index] as number) - (before[index] as number)),
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

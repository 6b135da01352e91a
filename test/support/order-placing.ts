import type { Product } from "../../src/domain/catalogue/product";
import type { NewOrder } from "../../src/domain/orders/ports";
import { DrizzleOrderRepository } from "../../src/infra/db/repositories/order-repository";
import { DrizzleProductRepository } from "../../src/infra/db/repositories/product-repository";
import { Transactions } from "../../src/infra/db/transactions";
import { openTestDatabase } from "./harness";

/**
 * The order and product repositories over this run's test database, on one Transactions as the container wires
 * them (so a statement of either joins the other's transaction), for tests of OrderRepository.place itself.
 */
export function orderPlacing() {
  const database = openTestDatabase();
  const transactions = new Transactions(database.db, database.sessionIsolation);
  return {
    database,
    transactions,
    orders: new DrizzleOrderRepository(transactions),
    catalogue: new DrizzleProductRepository(transactions),
  };
}

/** One unit of `product` at its price, nothing off: an order's line as the order service prices it. */
export const lineOf = (product: Product) => ({
  productId: product.id,
  sellerId: product.sellerId,
  productName: product.name,
  category: product.category,
  unitPrice: product.price,
  quantity: 1,
  lineTotal: product.price,
  discountShare: 0,
  refundedAmount: 0,
});

/** A new order of `userId` for `items` at their line totals, no coupon, and its ORDER_CREATED with a test payload. */
export function placeLines(orders: DrizzleOrderRepository, userId: string, items: NewOrder["items"]) {
  const total = items.reduce((sum, item) => sum + item.lineTotal, 0);
  return orders.place(
    {
      id: Bun.randomUUIDv7(),
      userId,
      items,
      subtotal: total,
      discountAmount: 0,
      totalAmount: total,
      userCouponId: null,
      couponApplied: false,
      couponRejectedReason: null,
      createdAt: new Date(),
      paymentTimeoutSeconds: 600,
    },
    { id: Bun.randomUUIDv7(), payload: { test: true } },
  );
}

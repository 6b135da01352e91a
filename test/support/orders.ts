import { eq, sql } from "drizzle-orm";
import { checkInvariants } from "../../src/infra/db/invariants";
import { orders } from "../../src/infra/db/schema";
import type { TestApp } from "./harness";

/** Places an order through the API as `token` and returns it (throws on anything but 201). */
export async function placeOrder(
  t: TestApp,
  token: string,
  userId: string,
  items: { productId: string; quantity: number }[],
  extra: Record<string, unknown> = {},
) {
  const res = await t.post("/api/v1/orders", { userId, items, ...extra }, { token });
  if (res.status !== 201) throw new Error(`order failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; status: string; totalAmount: number; expiresAt: string; [field: string]: any };
}

/**
 * Puts an order into a status directly, for tests of what comes after payment (the payment stage's own tests
 * pay for real). Stock moves as a payment would move it: reserved → sold.
 */
export async function forceStatus(t: TestApp, orderId: string, status: "CONFIRMED") {
  const order = await t.container.services.orders.get({ userId: orderId, role: "ADMIN" }, orderId);
  await t.container.database.db.transaction(async (tx) => {
    await tx
      .update(orders)
      .set({ status, paidAmount: sql`${orders.totalAmount}`, paidAt: sql`now()` })
      .where(eq(orders.id, orderId));
    for (const line of order.items) {
      await tx.execute(sql`update products set reserved_stock = reserved_stock - ${line.quantity},
        sold_quantity = sold_quantity + ${line.quantity}, version = version + 1 where id = ${line.productId}`);
    }
  });
}

/** The books of these products (and every order and coupon) balance: no violation. */
export async function invariantViolations(t: TestApp, productIds: string[]) {
  return checkInvariants(t.container.database.db, { productIds });
}

let orderSeller: Promise<{ token: string }> | undefined;

/**
 * The id of a real (unpaid) order of `buyer`, for tests of what is done with an order id (a coupon used on
 * it must name an order that exists).
 */
export async function anOrderOf(t: TestApp, buyer: { user: { id: string }; token: string }): Promise<string> {
  orderSeller ??= t.registerUser("SELLER");
  const seller = await orderSeller;
  const res = await t.post(
    "/api/v1/products",
    { name: "Order fixture", brand: "Testbrand", category: "fixture", price: 1_000, stock: 1 },
    seller,
  );
  return (await placeOrder(t, buyer.token, buyer.user.id, [{ productId: res.body.id, quantity: 1 }])).id;
}

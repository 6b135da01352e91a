import { checkInvariants } from "../../src/infra/db/invariants";
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

/** Charges the buyer what the order costs and pays it through the API (simulated gateway): CONFIRMED. */
export async function payOrder(t: TestApp, buyer: { user: { id: string }; token: string }, orderId: string) {
  const order = (await t.get(`/api/v1/orders/${orderId}`, buyer)).body as { totalAmount: number };
  if (order.totalAmount > 0) {
    const charged = await t.post(
      "/api/v1/balances/charge",
      { userId: buyer.user.id, amount: order.totalAmount },
      buyer,
    );
    if (charged.status !== 200) throw new Error(`charge failed: ${charged.status} ${JSON.stringify(charged.body)}`);
  }
  const paid = await t.post("/api/v1/payments/process", { orderId }, buyer);
  if (paid.status !== 200) throw new Error(`payment failed: ${paid.status} ${JSON.stringify(paid.body)}`);
  return paid.body as { id: string; status: string; amount: number; history: { status: string }[] };
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

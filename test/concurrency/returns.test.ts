import { describe, expect, it } from "bun:test";
import { servedTestApp } from "../support/harness";
import { invariantViolations, payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// Real sockets: every recording is its own request, connection and transaction.
const { t, base } = await servedTestApp();
const seller = await t.registerUser("SELLER");
const admin = await t.registerUser("ADMIN");

/** A shipped order of `quantity` pairs of each product, refunded in full: every pair awaits its return. */
async function awaitingReturn(productIds: string[], quantity: number) {
  const buyer = await t.registerUser("BUYER");
  const order = await placeOrder(
    t,
    buyer.token,
    buyer.user.id,
    productIds.map((productId) => ({ productId, quantity })),
  );
  await payOrder(t, buyer, order.id);
  for (const status of ["PREPARING", "SHIPPED"]) await t.patch(`/api/v1/orders/${order.id}/status`, { status }, seller);
  const refunded = await t.post("/api/v1/refunds", { orderId: order.id, reason: "racing returns" }, buyer);
  expect(refunded.body.status).toBe("REFUNDED");
  return order.id;
}

const record = (orderId: string, token: string, items: unknown[]) =>
  fetch(`${base}/api/v1/orders/${orderId}/returns`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ items }),
  });
const product = async (id: string) => (await t.get(`/api/v1/products/${id}`)).body;

describe("racing returns", () => {
  it("never return more than an order awaits: twelve recordings race for four pairs of two products", async () => {
    const left = await createProductVia(t, seller.token, { price: 80_000, stock: 10 });
    const right = await createProductVia(t, seller.token, { price: 90_000, stock: 10 });
    const orderId = await awaitingReturn([left.id, right.id], 4);
    expect(await product(left.id)).toMatchObject({ stock: 6, awaitingReturn: 4 });

    // Lines listed in both orders, by the seller and an admin at once.
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        record(
          orderId,
          i % 2 === 0 ? seller.token : admin.token,
          i % 3 === 0
            ? [
                { productId: right.id, quantity: 1, condition: "DAMAGED" },
                { productId: left.id, quantity: 1, condition: "RESELLABLE" },
              ]
            : [
                { productId: left.id, quantity: 1, condition: "RESELLABLE" },
                { productId: right.id, quantity: 1, condition: "DAMAGED" },
              ],
        ),
      ),
    );
    const statuses = responses.map((res) => res.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(4);
    const refused = await Promise.all(responses.filter((res) => res.status !== 201).map((res) => res.json() as any));
    // A loser either finds too few pairs left (400) or none at all (409): never a 5xx, never a deadlock.
    for (const problem of refused) {
      expect([
        [400, "RETURN_EXCEEDS_AWAITED"],
        [409, "ORDER_NOT_RETURNABLE"],
      ]).toContainEqual([problem.status, problem.code]);
    }
    expect(await product(left.id)).toMatchObject({ stock: 10, awaitingReturn: 0, writtenOff: 0 });
    expect(await product(right.id)).toMatchObject({ stock: 6, awaitingReturn: 0, writtenOff: 4 });
    expect(await invariantViolations(t, [left.id, right.id])).toEqual([]);
  });

  it("keeps the books of a product whose returns of several orders race with new orders of it", async () => {
    const shoe = await createProductVia(t, seller.token, { price: 60_000, stock: 20 });
    const orders = await Promise.all([awaitingReturn([shoe.id], 2), awaitingReturn([shoe.id], 2)]);
    const buyers = await Promise.all(Array.from({ length: 4 }, () => t.registerUser("BUYER")));
    const results = await Promise.all([
      ...orders.flatMap((orderId) =>
        Array.from({ length: 3 }, () =>
          record(orderId, seller.token, [{ productId: shoe.id, quantity: 1, condition: "RESELLABLE" }]).then(
            (res) => res.status,
          ),
        ),
      ),
      ...buyers.map((buyer) =>
        fetch(`${base}/api/v1/orders`, {
          method: "POST",
          headers: { Authorization: `Bearer ${buyer.token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] }),
        }).then((res) => res.status),
      ),
    ]);
    expect(results.slice(0, 6).filter((s) => s === 201)).toHaveLength(4);
    expect(results.slice(6)).toEqual([201, 201, 201, 201]);
    expect(await product(shoe.id)).toMatchObject({ stock: 16, reservedStock: 4, awaitingReturn: 0 });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });
});

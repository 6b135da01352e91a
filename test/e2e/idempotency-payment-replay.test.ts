import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../support/harness";
import { placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// A completed payment is its keyed request's answer (the key keeps no copy of it): a replay must still be the
// answer the first request gave (contract: Idempotency, "the stored response again"), whatever happened to
// the order since — here a full refund, which cancels the order and credits the buyer.
describe("the replay of a keyed payment after the order was refunded", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("is the first answer (status, body, content type) and pays nothing again", async () => {
    const seller = await t.registerUser("SELLER");
    const buyer = await t.registerUser("BUYER");
    await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 30_000 }, buyer);
    const shoe = await createProductVia(t, seller.token, { price: 20_000, stock: 5 });
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    const key = crypto.randomUUID();
    const pay = () =>
      t.post("/api/v1/payments/process", { orderId: order.id }, { ...buyer, headers: { "Idempotency-Key": key } });

    const paid = await pay();
    expect(paid.status).toBe(200);
    const refunded = await t.post("/api/v1/refunds", { orderId: order.id, reason: "Wrong size" }, buyer);
    expect(refunded.status).toBe(201);
    expect(refunded.body.status).toBe("REFUNDED");
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body.status).toBe("CANCELLED");

    const replayed = await pay();
    expect(replayed.status).toBe(200);
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replayed.body).toEqual(paid.body);
    expect(replayed.headers.get("content-type")).toBe(paid.headers.get("content-type"));
    expect((await t.get(`/api/v1/balances/${buyer.user.id}`, buyer)).body.balance).toBe(30_000);
  });
});

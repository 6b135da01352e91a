import { afterAll, describe, expect, it } from "bun:test";
import { scheduleOrderExpiry } from "../../src/workers/order-expiry";
import { createTestApp } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

const TIMEOUT_SECONDS = 2;
const t = await createTestApp({ env: { ORDER_PAYMENT_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS) } });
const stop = scheduleOrderExpiry(t.container.services.orders, t.container.logger, 200);
afterAll(async () => {
  await stop();
  await t.close();
});

describe("unpaid order expiry", () => {
  it("cancels an unpaid order after its deadline (never before, within 10 s), returning its stock, once", async () => {
    const seller = await t.registerUser("SELLER");
    const buyer = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { stock: 3 });
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 2 }]);
    const deadline = Date.parse(order.expiresAt);
    let status = order.status;
    while (status === "CREATED" && Date.now() < deadline + 12_000) {
      await Bun.sleep(100);
      status = (await t.get(`/api/v1/orders/${order.id}`, buyer)).body.status;
    }
    const expired = (await t.get(`/api/v1/orders/${order.id}`, buyer)).body;
    expect(expired).toMatchObject({ status: "CANCELLED", cancelReason: "EXPIRED" });
    // Both times are the database's: cancelled no earlier than the deadline, and within 10 s of it.
    const row = await t.container.database.db.query.orders.findFirst({ where: (o, { eq }) => eq(o.id, order.id) });
    const late = row!.cancelledAt!.getTime() - row!.expiresAt.getTime();
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThanOrEqual(10_000);
    expect((await t.get(`/api/v1/products/${shoe.id}`)).body).toMatchObject({ stock: 3, reservedStock: 0 });
    const events = await t.container.database.db.query.orderEvents.findMany({
      where: (e, { eq }) => eq(e.aggregateId, order.id),
      orderBy: (e, { asc }) => asc(e.seq),
    });
    expect(events.filter((e) => e.type === "ORDER_CANCELLED")).toHaveLength(1);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("does not expire an order before its deadline", async () => {
    const seller = await t.registerUser("SELLER");
    const buyer = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token);
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    const run = await t.container.services.orders.expireDue();
    expect(run.failures).toEqual([]);
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body.status).toBe("CREATED");
    expect(Date.parse(order.expiresAt)).toBeGreaterThan(Date.now());
  });
});

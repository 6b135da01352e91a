import { afterAll, describe, expect, it } from "bun:test";
import type { Clock } from "../../src/domain/shared/clock";
import { createTestApp, isolatedDatabase } from "../support/harness";
import { payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

const DAY_MS = 24 * 3600 * 1000;

/**
 * Real time, or one instant held still (`at`) while the sweep looks days ahead: held, so that the milliseconds
 * a loaded machine spends between setting it and the sweep reading it cannot carry it past a boundary.
 */
class ShiftedClock implements Clock {
  #held: number | undefined;
  now = () => new Date(this.#held ?? Date.now());
  sleep = (ms: number) => Bun.sleep(ms);
  at(instant: number) {
    this.#held = instant;
  }
  /** Back to real time. */
  realTime() {
    this.#held = undefined;
  }
}

// A database of its own: a clock days ahead would otherwise complete other files' delivered orders.
const database = await isolatedDatabase();
const clock = new ShiftedClock();
const env = { ORDER_AUTO_COMPLETE_DAYS: "3" };
const t = await createTestApp({ database, clock, env });
const other = await createTestApp({ database, clock, env });
afterAll(async () => {
  await other.close();
  await t.close();
});

const seller = await t.registerUser("SELLER");
const buyer = await t.registerUser("BUYER");

async function deliveredOrder() {
  const shoe = await createProductVia(t, seller.token, { stock: 5 });
  const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
  await payOrder(t, buyer, order.id);
  for (const status of ["PREPARING", "SHIPPED", "DELIVERED"]) {
    const res = await t.patch(`/api/v1/orders/${order.id}/status`, { status }, seller);
    if (res.status !== 200) throw new Error(`${status}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const delivered = (await t.get(`/api/v1/orders/${order.id}`, buyer)).body;
  return { id: order.id as string, deliveredAt: Date.parse(delivered.deliveredAt) };
}

const statusOf = async (orderId: string) => (await t.get(`/api/v1/orders/${orderId}`, buyer)).body.status;

describe("auto-completion of delivered orders", () => {
  it("records when an order was delivered, by the clock", async () => {
    const before = clock.now().getTime();
    const order = await deliveredOrder();
    expect(order.deliveredAt).toBeGreaterThanOrEqual(before);
    expect(order.deliveredAt).toBeLessThanOrEqual(clock.now().getTime());
  });

  it("completes a DELIVERED order exactly ORDER_AUTO_COMPLETE_DAYS after delivery, not a millisecond before", async () => {
    clock.realTime();
    const order = await deliveredOrder();
    clock.at(order.deliveredAt + 3 * DAY_MS - 1);
    expect(await t.container.services.orders.completeDeliveredDue()).not.toContain(order.id);
    expect(await statusOf(order.id)).toBe("DELIVERED");
    clock.at(order.deliveredAt + 3 * DAY_MS);
    expect(await t.container.services.orders.completeDeliveredDue()).toContain(order.id);
    expect(await statusOf(order.id)).toBe("COMPLETED");
    clock.realTime();
  });

  it("completes each due order once when sweeps on two instances race", async () => {
    clock.realTime();
    const orders = [];
    for (let i = 0; i < 6; i++) orders.push(await deliveredOrder());
    clock.at(Math.max(...orders.map((o) => o.deliveredAt)) + 3 * DAY_MS);
    const sweeps = await Promise.all(
      [t, other, t, other].map((app) => app.container.services.orders.completeDeliveredDue(2)),
    );
    // Whatever the first sweeps skipped (locked by another), a later run takes.
    const rest = await other.container.services.orders.completeDeliveredDue();
    const completed = [...sweeps.flat(), ...rest];
    expect(completed.toSorted()).toEqual(orders.map((o) => o.id).toSorted());
    for (const order of orders) expect(await statusOf(order.id)).toBe("COMPLETED");
    clock.realTime();
  });

  it("leaves an order the buyer confirmed, and orders not yet delivered, alone", async () => {
    clock.realTime();
    const confirmed = await deliveredOrder();
    expect((await t.patch(`/api/v1/orders/${confirmed.id}/status`, { status: "COMPLETED" }, buyer)).status).toBe(200);
    const shoe = await createProductVia(t, seller.token, { stock: 5 });
    const shipped = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    await payOrder(t, buyer, shipped.id);
    for (const status of ["PREPARING", "SHIPPED"])
      await t.patch(`/api/v1/orders/${shipped.id}/status`, { status }, seller);
    clock.at(Date.now() + 30 * DAY_MS);
    expect(await t.container.services.orders.completeDeliveredDue()).toEqual([]);
    expect(await statusOf(shipped.id)).toBe("SHIPPED");
    clock.realTime();
  });
});

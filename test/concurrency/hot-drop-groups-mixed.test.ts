import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { createTestApp, hasPostgres, type TestApp } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// A hot drop with everything that writes a product's row at once: orders in groups (keyed and not, of one product
// and of two in either order), payment completions in groups, the expiry job releasing a batch of past-due orders of
// the same products, and buyers cancelling. The in-process waits (a request's open transaction waiting for an order
// group; completions waiting for the completion statement in flight; requests waiting for a pooled connection) are
// invisible to PostgreSQL's deadlock detector: a cycle through one shows only as a statement waiting out lock_timeout
// (10 s) and a group failing. A small pool (4, so 2 group connections) makes the pool's queue part of it.
describe.skipIf(!hasPostgres)("a hot drop with orders and completions grouped, expiry and cancels", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { DATABASE_POOL_SIZE: "4" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("never waits out lock_timeout: no group fails, every request answers at once, the books balance", async () => {
    const seller = await t.registerUser("SELLER");
    const hot = await createProductVia(t, seller.token, { price: 1_000, stock: 500 });
    const other = await createProductVia(t, seller.token, { price: 1_000, stock: 500 });
    const buyers = await Promise.all(
      Array.from({ length: 24 }, async () => {
        const buyer = await t.registerUser("BUYER");
        await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 100_000 }, buyer);
        return buyer;
      }),
    );
    // Past-due unpaid orders of both products, for the expiry job to release while the drop runs.
    for (const buyer of buyers.slice(0, 8)) {
      await placeOrder(t, buyer.token, buyer.user.id, [
        { productId: hot.id, quantity: 1 },
        { productId: other.id, quantity: 1 },
      ]);
    }
    await t.container.database.db.execute(sql`update orders set expires_at = now() - interval '1 minute'
      where id in (select order_id from order_items where product_id = ${hot.id})`);
    const orderGroup = t.container.orderGroup;
    if (!orderGroup) throw new Error("no group of orders on this database");
    const failedBefore = orderGroup.stats.failed;
    const groupsBefore = orderGroup.stats.groups;

    const slowest = { ms: 0 };
    const timed = async <T>(send: () => Promise<T>) => {
      const started = performance.now();
      try {
        return await send();
      } finally {
        slowest.ms = Math.max(slowest.ms, performance.now() - started);
      }
    };
    const journey = async (buyer: (typeof buyers)[number], i: number) => {
      const items =
        i % 3 === 0
          ? [{ productId: hot.id, quantity: 1 }]
          : i % 3 === 1
            ? [
                { productId: other.id, quantity: 1 },
                { productId: hot.id, quantity: 2 },
              ]
            : [
                { productId: hot.id, quantity: 1 },
                { productId: other.id, quantity: 1 },
              ];
      const keyed = i % 2 === 0 ? { headers: { "Idempotency-Key": crypto.randomUUID() } } : {};
      const placed = await timed(() =>
        t.post("/api/v1/orders", { userId: buyer.user.id, items }, { token: buyer.token, ...keyed }),
      );
      expect(placed.status).toBe(201);
      const orderId = placed.body.id as string;
      if (i % 5 === 4) {
        const cancelled = await timed(() => t.put(`/api/v1/orders/${orderId}/cancel`, {}, buyer));
        expect(cancelled.status).toBe(200);
        return;
      }
      const paid = await timed(() =>
        t.post(
          "/api/v1/payments/process",
          { orderId },
          { token: buyer.token, headers: { "Idempotency-Key": crypto.randomUUID() } },
        ),
      );
      expect(paid.status).toBe(200);
      if (i % 7 === 6) {
        // Refunded and cancelled while others order, pay and expire the same products.
        const refunded = await timed(() => t.put(`/api/v1/orders/${orderId}/cancel`, {}, buyer));
        expect([200, 202]).toContain(refunded.status);
      }
    };
    const expiring = (async () => {
      let expired = 0;
      for (let round = 0; round < 6; round++) {
        const run = await timed(() => t.container.services.orders.expireDue(3));
        expect(run.failures).toEqual([]);
        expired += run.expired;
        await Bun.sleep(5);
      }
      return expired;
    })();
    await Promise.all([...buyers.map(journey), ...buyers.map((buyer, i) => journey(buyer, i + 1))]);
    await expiring;
    // What the expiry left behind (it ran beside the drop): released now, so the books close.
    await t.container.services.orders.expireDue(100);

    expect(orderGroup.stats.groups - groupsBefore).toBeGreaterThan(0);
    expect(orderGroup.stats.failed - failedBefore).toBe(0);
    const metrics = (await t.get<string>("/metrics")).body;
    expect(metrics).toContain("payment_completion_group_failures_total 0");
    expect(slowest.ms).toBeLessThan(8_000);
    expect(await invariantViolations(t, [hot.id, other.id])).toEqual([]);
  });
});

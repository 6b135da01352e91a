import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { openDatabase } from "../../src/infra/db/client";
import { createTestApp, hasPostgres, type TestApp } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { paymentCompletionProbes } from "../support/payment-completion";
import { createProductVia } from "../support/products";
import { holdRowLock } from "../support/row-locks";
import { waitFor } from "../support/wait";

// A group of completions locks the products of all its orders in id order. The order-expiry job released the
// reservations of its whole batch in one transaction, order after order: products of a later order (X) after
// those of an earlier one (Y), not in id order across orders. Single-line single completions never held X while
// waiting for Y; a group of two such completions does: a deadlock, and the expiry of one order failed for the run.
describe.skipIf(!hasPostgres)("payment completions in groups and the order-expiry job", () => {
  const url = globalThis.kicksTest.services.databaseUrl as string;
  const database = hasPostgres ? openDatabase({ url, poolSize: 10 }) : undefined;
  let t: TestApp;
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });

  it("never deadlocks with an expiry batch releasing products of several orders", async () => {
    // Patient: the group forms behind the test's lock on the first completion (not released to go alone).
    t = await createTestApp({ database, env: { COMPLETION_GROUP_PATIENCE_MS: "60000" } });
    const probes = paymentCompletionProbes(t, "test_group_expiry");
    const seller = await t.registerUser("SELLER");
    // Ids are time-ordered (v7): x < y < w, z anywhere.
    const x = await createProductVia(t, seller.token, { price: 10_000, stock: 10 });
    const y = await createProductVia(t, seller.token, { price: 10_000, stock: 10 });
    const w = await createProductVia(t, seller.token, { price: 10_000, stock: 10 });
    const z = await createProductVia(t, seller.token, { price: 10_000, stock: 10 });
    const buyer = async () => probes.buyerWith(100_000);
    const order = async (who: Awaited<ReturnType<typeof buyer>>, ids: string[]) =>
      placeOrder(
        t,
        who.token,
        who.user.id,
        ids.map((productId) => ({ productId, quantity: 1 })),
      );
    // Unpaid, past their deadline: a (y and w) before b (x).
    const [ba, bb] = [await buyer(), await buyer()];
    const a = await order(ba, [y.id, w.id]);
    const b = await order(bb, [x.id]);
    await t.container.database.db.execute(
      sql`update orders set expires_at = now() - case when id = ${a.id} then interval '2 minutes' else interval '1 minute' end
          where id in (${a.id}, ${b.id})`,
    );
    // To pay: e (z) goes first, alone; c (x) and d (y) then wait for it and go as one group.
    const [be, bc, bd] = [await buyer(), await buyer(), await buyer()];
    const e = await order(be, [z.id]);
    const c = await order(bc, [x.id]);
    const d = await order(bd, [y.id]);

    const holdW = await holdRowLock(url, (s) => s`select id from products where id = ${w.id} for update`);
    const holdZ = await holdRowLock(url, (s) => s`select id from products where id = ${z.id} for update`);
    try {
      // The expiry releases a's y, then waits for w.
      const expiring = t.container.services.orders.expireDue();
      await waitFor("the expiry waiting for w", async () => (await holdW.waitingFor()).length === 1);
      const payingE = t.post("/api/v1/payments/process", { orderId: e.id }, be);
      await waitFor("e's completion waiting for z", async () => (await holdZ.waitingFor()).length === 1);
      const paying = [
        t.post("/api/v1/payments/process", { orderId: c.id }, bc),
        t.post("/api/v1/payments/process", { orderId: d.id }, bd),
      ];
      await waitFor("c and d at their completion", async () => {
        const rows = await t.container.database.db.query.payments.findMany({
          where: (p, { inArray }) => inArray(p.orderId, [c.id, d.id]),
        });
        return rows.length === 2 && rows.every((p) => p.status === "GATEWAY_REQUESTED");
      });
      await Bun.sleep(200);
      // e completes; the group of c and d locks x, then waits for y (the expiry's).
      await holdZ.release();
      expect((await payingE).status).toBe(200);
      const [expiry] = await holdW.waitingFor();
      await waitFor("the group waiting for the expiry", async () => (await holdW.waitingFor(expiry)).length === 1);
      // Past the group's own deadlock check, so a cycle is found by the expiry's (its order b fails).
      await Bun.sleep(1_200);
      await holdW.release();
      const run = await expiring;
      expect(run.failures.map((f) => String((f.error as Error)?.message ?? f.error))).toEqual([]);
      expect(run.expired).toBe(2);
      expect((await Promise.all(paying)).map((r) => [r.status, r.body.status])).toEqual([
        [200, "COMPLETED"],
        [200, "COMPLETED"],
      ]);
    } finally {
      await holdZ.end();
      await holdW.end();
    }
    expect(await invariantViolations(t, [x.id, y.id, w.id, z.id])).toEqual([]);
  }, 60_000);
});

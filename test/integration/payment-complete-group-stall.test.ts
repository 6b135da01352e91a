import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { openDatabase } from "../../src/infra/db/client";
import { createTestApp, hasPostgres, type TestApp } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { paymentCompletionProbes } from "../support/payment-completion";
import { createProductVia } from "../support/products";
import { holdRowLock } from "../support/row-locks";
import { waitFor } from "../support/wait";

// One group statement is in flight per process: a completion waiting on a row lock of ITS product (a reservation
// of a hot product, a seller's edit, any transaction holding the row) must not hold back the completions of other
// products behind it, as it did not before groups (each completion then waited only on its own rows).
describe.skipIf(!hasPostgres)("payment completions in groups, behind a stuck statement", () => {
  const url = globalThis.kicksTest.services.databaseUrl as string;
  const database = hasPostgres ? openDatabase({ url, poolSize: 10 }) : undefined;
  let t: TestApp;
  let watched: TestApp;
  afterAll(async () => {
    await t?.close();
    await watched?.close();
    await database?.close();
  });

  it("completes a payment of another product while a completion waits on a locked product row", async () => {
    t = await createTestApp({ database });
    const probes = paymentCompletionProbes(t, "test_group_stall");
    const seller = await t.registerUser("SELLER");
    const stuck = await createProductVia(t, seller.token, { price: 10_000, stock: 10 });
    const free = await createProductVia(t, seller.token, { price: 11_000, stock: 10 });
    const buyerA = await probes.buyerWith(100_000);
    const buyerB = await probes.buyerWith(100_000);
    const orderA = await placeOrder(t, buyerA.token, buyerA.user.id, [{ productId: stuck.id, quantity: 1 }]);
    const orderB = await placeOrder(t, buyerB.token, buyerB.user.id, [{ productId: free.id, quantity: 1 }]);

    // Another transaction holds the first product's row (for as long as it likes, up to lock_timeout).
    const lock = await holdRowLock(
      url,
      (session) => session`select id from products where id = ${stuck.id} for update`,
    );
    try {
      const payingA = t.post("/api/v1/payments/process", { orderId: orderA.id }, buyerA);
      await waitFor("A's completion waiting on the row", async () => (await lock.waitingFor()).length === 1);
      // B shares nothing with A: its completion needs no row A's statement waits for.
      const started = performance.now();
      const payingB = t.post("/api/v1/payments/process", { orderId: orderB.id }, buyerB);
      const answerB = await Promise.race([payingB, Bun.sleep(3_000).then(() => "still waiting" as const)]);
      expect(answerB === "still waiting" ? answerB : answerB.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(3_000);
      await lock.release();
      const answerA = await payingA;
      expect(answerA.status).toBe(200);
      expect(answerA.body.status).toBe("COMPLETED");
      await payingB;
    } finally {
      await lock.end();
    }
    expect(await invariantViolations(t, [stuck.id, free.id])).toEqual([]);
  }, 60_000);

  it("logs and counts a group whose statement failed as a whole (its members answered alone)", async () => {
    const logs: Record<string, any>[] = [];
    // Patient: the group forms behind the test's lock and is not released to go alone.
    watched = await createTestApp({
      database,
      logs,
      env: { COMPLETION_GROUP_PATIENCE_MS: "60000", LOG_LEVEL: "warn" },
    });
    const probes = paymentCompletionProbes(watched, "test_group_failure_seen");
    const seller = await watched.registerUser("SELLER");
    const hot = await createProductVia(watched, seller.token, { price: 10_000, stock: 10 });
    const odd = await createProductVia(watched, seller.token, { price: 11_000, stock: 10 });
    const placed = [];
    for (const items of [
      [{ productId: hot.id, quantity: 1 }],
      [{ productId: hot.id, quantity: 1 }],
      [
        { productId: hot.id, quantity: 1 },
        { productId: odd.id, quantity: 1 },
      ],
    ]) {
      const buyer = await probes.buyerWith(100_000);
      placed.push({ buyer, order: await placeOrder(watched, buyer.token, buyer.user.id, items) });
    }
    // The odd product no longer holds its order's unit: that member cannot complete, so neither can its group.
    await watched.container.database.db.execute(
      sql`update products set reserved_stock = 0, stock = stock + reserved_stock where id = ${odd.id}`,
    );
    const lock = await holdRowLock(url, (session) => session`select id from products where id = ${hot.id} for update`);
    let answers: { status: number }[];
    try {
      const paying = Promise.all(
        placed.map(({ buyer, order }) => watched.post("/api/v1/payments/process", { orderId: order.id }, buyer)),
      );
      await waitFor("the first completion waiting", async () => (await lock.waitingFor()).length === 1);
      await Bun.sleep(500);
      await lock.release();
      answers = await paying;
    } finally {
      await lock.end();
    }
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 500]);
    const seen = logs.filter((line) => String(line.msg).includes("group of payment completions failed"));
    expect(seen.map((line) => [line.level, line.size])).toEqual([["warn", 2]]);
    const metrics = (await watched.get<string>("/metrics")).body;
    expect(metrics).toContain("payment_completion_group_failures_total 1");
    expect(metrics).toContain("payment_completion_group_failed_members_total 2");
    // Mended, so no later check of this database meets it unsettleable.
    await watched.container.database.db.execute(
      sql`update products set stock = stock - 1, reserved_stock = 1 where id = ${odd.id}`,
    );
  }, 60_000);
});

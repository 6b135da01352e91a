import { afterAll, describe, expect, it } from "bun:test";
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
  afterAll(async () => {
    await t?.close();
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
});

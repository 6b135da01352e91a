import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { salesOfPayment } from "../../src/domain/sales/sales-deltas";
import { rowsOf } from "../../src/infra/db/client";
import { createTestApp, hasPostgres, type TestApp } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { paymentCompletionProbes } from "../support/payment-completion";
import { createProductVia } from "../support/products";
import { holdRowLock } from "../support/row-locks";

// A payment's completion is one statement (payment_complete): COMPLETED, the order confirmed, the units sold,
// PAYMENT_COMPLETED and the sales rollup. What it writes must be what the domain would have written (the event is
// toPaymentView of the payment, the rollup salesOfPayment of the order), and it is all or nothing: a rollup that
// fails leaves the payment GATEWAY_REQUESTED, for a late confirm or the recovery job to complete. Both drivers.
const t = await createTestApp();
afterAll(() => t.close());
const db = t.container.database.db;
const { buyerWith, keyedPayment, domainOrder, rollupOf, completedEvents, breakRollup, mendRollup } =
  paymentCompletionProbes(t, "test_rollup_fails");

type Who = Awaited<ReturnType<TestApp["registerUser"]>>;
const sellers = [await t.registerUser("SELLER"), await t.registerUser("SELLER")];

/** An order of five lines over two sellers and three categories, lines given out of product-id order. */
async function mixedOrder(buyer: Who) {
  const shoes = [];
  for (const [i, [seller, category]] of (
    [
      [0, "running"],
      [1, "running"],
      [0, "basketball"],
      [1, "skate"],
      [0, "running"],
    ] as const
  ).entries()) {
    shoes.push(
      await createProductVia(t, (sellers[seller] as Who).token, { price: 10_000 + i * 1_000, stock: 5, category }),
    );
  }
  const items = shoes.map((shoe, i) => ({ productId: shoe.id, quantity: 1 + (i % 2) })).reverse();
  return { shoes, order: await placeOrder(t, buyer.token, buyer.user.id, items) };
}

describe("a payment's completion in one statement", () => {
  it("writes PAYMENT_COMPLETED as the payment answered and the rollup as salesOfPayment of the order", async () => {
    const buyer = await buyerWith(500_000);
    const { shoes, order } = await mixedOrder(buyer);
    const res = await t.post("/api/v1/payments/process", { orderId: order.id }, buyer);
    expect(res.status).toBe(200);

    const [event] = await completedEvents(order.id);
    expect(event?.payload).toEqual({ ...res.body, orderStatus: "CONFIRMED" });
    const expected = salesOfPayment(await domainOrder(order.id)).map((delta) => ({ ...delta }));
    expect(await rollupOf(shoes.map((shoe) => shoe.id))).toEqual(
      expected.sort((a, b) => (a.productId < b.productId ? -1 : 1)),
    );
    for (const [i, shoe] of shoes.entries()) {
      const quantity = 1 + (i % 2);
      expect((await t.get(`/api/v1/products/${shoe.id}`)).body).toMatchObject({
        stock: 5 - quantity,
        reservedStock: 0,
        soldQuantity: quantity,
      });
    }
    expect(
      await invariantViolations(
        t,
        shoes.map((shoe) => shoe.id),
      ),
    ).toEqual([]);
  });

  it("leaves a payment whose rollup failed GATEWAY_REQUESTED with nothing of its completion; the recovery job completes it", async () => {
    const buyer = await buyerWith(500_000);
    const { shoes, order } = await mixedOrder(buyer);
    const ids = shoes.map((shoe) => shoe.id);
    await breakRollup();
    let res: Awaited<ReturnType<TestApp["post"]>>;
    try {
      res = await t.post("/api/v1/payments/process", { orderId: order.id }, buyer);
    } finally {
      await mendRollup();
    }
    // The gateway approved; our books did not move past GATEWAY_REQUESTED (the debit and the hold stand).
    expect(res.status).toBe(500);
    const [payment] = await db.query.payments.findMany({ where: (p, { eq }) => eq(p.orderId, order.id) });
    expect(payment).toMatchObject({ status: "GATEWAY_REQUESTED", gatewayTransactionId: null });
    expect(await db.query.orders.findFirst({ where: (o, { eq }) => eq(o.id, order.id) })).toMatchObject({
      status: "CREATED",
      paymentId: payment?.id,
      paidAt: null,
    });
    expect(await completedEvents(order.id)).toEqual([]);
    expect(await rollupOf(ids)).toEqual([]);
    for (const shoe of shoes) {
      expect((await t.get(`/api/v1/products/${shoe.id}`)).body).toMatchObject({ soldQuantity: 0 });
    }
    expect(await invariantViolations(t, ids)).toEqual([]);

    // The recovery job's next check of it (made due now) completes it, all of it.
    await db.execute(sql`update payments set next_check_at = now() - interval '1 second' where id = ${payment?.id}`);
    // Other files' payments on this database may come due in the run too: the effects on this one are what count.
    expect((await t.container.services.payments.recover()).settled).toBeGreaterThanOrEqual(1);
    const paid = (await t.get(`/api/v1/payments/${payment?.id}`, buyer)).body;
    expect(paid.status).toBe("COMPLETED");
    const events = await completedEvents(order.id);
    expect(events).toHaveLength(1);
    expect(events[0]?.payload).toEqual({ ...paid, orderStatus: "CONFIRMED" });
    expect(await rollupOf(ids)).toEqual(
      salesOfPayment(await domainOrder(order.id)).sort((a, b) => (a.productId < b.productId ? -1 : 1)),
    );
    expect(await invariantViolations(t, ids)).toEqual([]);
  });

  it("fails, writing nothing, when the payment would complete without its units sold", async () => {
    const buyer = await buyerWith(500_000);
    const { shoes, order } = await mixedOrder(buyer);
    // Books made wrong on purpose: one product no longer holds the order's reserved units.
    await breakRollup();
    const started = await t.post("/api/v1/payments/process", { orderId: order.id }, buyer);
    await mendRollup();
    expect(started.status).toBe(500);
    const [payment] = await db.query.payments.findMany({ where: (p, { eq }) => eq(p.orderId, order.id) });
    await db.execute(sql`update products set reserved_stock = 0, stock = stock + reserved_stock
      where id = ${(shoes[1] as { id: string }).id}`);
    const confirmed = await t.post("/api/v1/payments/confirm", { paymentId: payment?.id }, buyer);
    expect(confirmed.status).toBe(500);
    expect((await t.get(`/api/v1/payments/${payment?.id}`, buyer)).body.status).toBe("GATEWAY_REQUESTED");
    expect(await db.query.orders.findFirst({ where: (o, { eq }) => eq(o.id, order.id) })).toMatchObject({
      status: "CREATED",
    });
    expect(await completedEvents(order.id)).toEqual([]);
    expect(await rollupOf(shoes.map((shoe) => shoe.id))).toEqual([]);
    const sold = rowsOf<{ sold: number }>(
      await db.execute(sql`select coalesce(sum(sold_quantity), 0)::int as sold from products
        where id in (${sql.join(
          shoes.map((shoe) => sql`${shoe.id}::uuid`),
          sql`, `,
        )})`),
    );
    expect(Number(sold[0]?.sold)).toBe(0);

    // Mended (the units back in reserve), so the payment is completed here and no recovery run (of a later test
    // of this file or of any file on this database) meets it unsettleable and throws.
    await db.execute(sql`update products set stock = stock - 2, reserved_stock = 2
      where id = ${(shoes[1] as { id: string }).id}`);
    const mended = await t.post("/api/v1/payments/confirm", { paymentId: payment?.id }, buyer);
    expect([mended.status, mended.body.status]).toEqual([200, "COMPLETED"]);
    expect(
      await invariantViolations(
        t,
        shoes.map((shoe) => shoe.id),
      ),
    ).toEqual([]);
  });
});

describe.skipIf(!hasPostgres)("a late confirm and the recovery job completing one payment at once", () => {
  it("complete it once: one sale, one event, one rollup entry", async () => {
    const buyer = await buyerWith(500_000);
    const { shoes, order } = await mixedOrder(buyer);
    const ids = shoes.map((shoe) => shoe.id);
    await breakRollup();
    const started = await t.post("/api/v1/payments/process", { orderId: order.id }, buyer);
    await mendRollup();
    expect(started.status).toBe(500);
    const [payment] = await db.query.payments.findMany({ where: (p, { eq }) => eq(p.orderId, order.id) });
    await db.execute(sql`update payments set next_check_at = now() - interval '1 second' where id = ${payment?.id}`);

    // Both settlers reach the completion while the test holds the first product's row: both statements queue.
    const first = [...ids].sort()[0] as string;
    const lock = await holdRowLock(
      globalThis.kicksTest.services.databaseUrl as string,
      (session) => session`select id from products where id = ${first} for update`,
    );
    try {
      const confirm = t.post("/api/v1/payments/confirm", { paymentId: payment?.id }, buyer);
      const recovery = t.container.services.payments.recover();
      while ((await lock.waitingFor()).length < 1) await Bun.sleep(10);
      await lock.release();
      const [confirmed, recovered] = await Promise.all([confirm, recovery]);
      expect(confirmed.status).toBe(200);
      expect(confirmed.body.status).toBe("COMPLETED");
      // At least this one (other files' payments on this database may come due in the run too).
      expect(recovered.settled).toBeGreaterThanOrEqual(1);
    } finally {
      await lock.end();
    }
    expect(await completedEvents(order.id)).toHaveLength(1);
    expect(await rollupOf(ids)).toEqual(
      salesOfPayment(await domainOrder(order.id)).sort((a, b) => (a.productId < b.productId ? -1 : 1)),
    );
    expect(await invariantViolations(t, ids)).toEqual([]);
  });
});

describe("a keyed payment's start sent on its own", () => {
  it("releases the key it claimed when it then refuses (no balance row): the retry runs at once", async () => {
    const buyer = await buyerWith(100_000);
    const shoe = await createProductVia(t, (sellers[0] as Who).token, { price: 10_000, stock: 5 });
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    // The statement claims the key and commits, then finds no balance to debit: the service refuses after it.
    await db.execute(sql`delete from balances where user_id = ${buyer.user.id}`);
    const key = crypto.randomUUID();
    const pay = keyedPayment(order.id, buyer, key);
    expect((await pay()).status).toBe(404);
    // Not left in flight for the lease's minute (409): released, so the retry decides afresh.
    const retry = await pay();
    expect(retry.status).toBe(404);
    expect(retry.body).toMatchObject({ code: "USER_NOT_FOUND" });
    const keys = await db.query.idempotencyKeys.findMany({ where: (k, { eq }) => eq(k.key, key) });
    expect(keys).toEqual([]);
    expect(await db.query.payments.findMany({ where: (p, { eq }) => eq(p.orderId, order.id) })).toEqual([]);
  });
});

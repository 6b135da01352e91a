import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { DrizzlePaymentRepository } from "../../src/infra/db/repositories/payment-repository";
import { orders } from "../../src/infra/db/schema";
import { Transactions } from "../../src/infra/db/transactions";
import { createTestApp, hasPostgres, type TestApp } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";
import { holdRowLock } from "../support/row-locks";

// A payment's start is one statement (payment_start): it locks the order's row, then the balance's, decides on
// those rows as locked (their latest versions, read committed), then holds the order and debits the balance in
// CTEs of the same statement. An UPDATE's scan filters rows by its WHERE on the statement's snapshot before
// PostgreSQL re-checks the latest version (EvalPlanQual): a condition there that was false in the snapshot but
// is true in the latest version silently matches nothing. A balance topped up while the start waited at its lock
// is enough on the locked row and was short in the snapshot: the debit must still happen.
const url = globalThis.kicksTest.services.databaseUrl as string;

describe.skipIf(!hasPostgres)("a payment's start decides and writes on the rows as locked", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("pays from a balance topped up while the start waited at the balance's row", async () => {
    const seller = await t.registerUser("SELLER");
    const buyer = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 5 });
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    expect((await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 5_000 }, buyer)).status).toBe(200);

    const lock = await holdRowLock(
      url,
      (sql) => sql`select 1 from balances where user_id = ${buyer.user.id} for update`,
    );
    let paid: { status: number; body: any };
    try {
      const sent = t.post(
        "/api/v1/payments/process",
        { orderId: order.id },
        { token: buyer.token, headers: { "Idempotency-Key": crypto.randomUUID() } },
      );
      while ((await lock.waitingFor()).length === 0) await Bun.sleep(25);
      // A charge of the buyer's commits while the start waits (its ledger row as a charge writes it).
      await lock.take(
        (sql) => sql`
          with topped as (
            update balances set balance = balance + 5000, version = version + 1, updated_at = clock_timestamp()
            where user_id = ${buyer.user.id} returning user_id, balance, version, updated_at
          )
          insert into balance_ledger (id, user_id, type, amount, balance_after, balance_version, reference_id,
            created_at)
          select ${Bun.randomUUIDv7()}, user_id, 'CHARGE', 5000, balance, version, null, updated_at from topped`,
      );
      await lock.release();
      paid = await sent;
    } finally {
      await lock.end();
    }
    expect(paid.status).toBe(200);
    expect(paid.body.status).toBe("COMPLETED");
    expect((await t.get(`/api/v1/balances/${buyer.user.id}`, buyer)).body.balance).toBe(0);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });
});

describe.skipIf(!hasPostgres)("a payment's start holding an order let go while it waited", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("holds the order when its earlier payment's hold was let go while the start waited at the order's row", async () => {
    const seller = await t.registerUser("SELLER");
    const buyer = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 5 });
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    expect((await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 10_000 }, buyer)).status).toBe(
      200,
    );
    // An earlier attempt holds the order (committed: the start's snapshot sees the order taken).
    const earlier = Bun.randomUUIDv7();
    const { db } = t.container.database;
    await db.execute(sql`insert into payments (id, order_id, user_id, amount, status)
      values (${earlier}, ${order.id}, ${buyer.user.id}, 10000, 'VALIDATING')`);
    await db.execute(sql`update orders set payment_id = ${earlier}, version = version + 1 where id = ${order.id}`);

    const transactions = new Transactions(db, t.container.database.sessionIsolation);
    const payments = new DrizzlePaymentRepository(transactions);
    const lock = await holdRowLock(url, (sql) => sql`select 1 from orders where id = ${order.id} for update`);
    let started: Awaited<ReturnType<typeof payments.start>>;
    try {
      const starting = transactions.withTransaction(() =>
        payments.start(
          { id: Bun.randomUUIDv7(), orderId: order.id, userId: buyer.user.id, amount: 10_000 },
          { ledgerEntryId: Bun.randomUUIDv7(), nextCheckInSeconds: 60, chargeWindowMs: 60_000 },
        ),
      );
      while ((await lock.waitingFor()).length === 0) await Bun.sleep(25);
      // The earlier attempt fails and lets the order go while the start waits for the order's row.
      await lock.take(async (sql) => {
        await sql`update payments set status = 'FAILED', failure_reason = 'ABANDONED' where id = ${earlier}`;
        await sql`update orders set payment_id = null, version = version + 1 where id = ${order.id}`;
      });
      await lock.release();
      started = await starting;
    } finally {
      await lock.end();
    }
    expect(started.kind).toBe("requested");
    const [held] = await db.select({ paymentId: orders.paymentId }).from(orders).where(eq(orders.id, order.id));
    expect(held?.paymentId).toBe(started.kind === "requested" ? started.payment.id : "");
  });
});

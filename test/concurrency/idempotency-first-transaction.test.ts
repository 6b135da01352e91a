import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { and, count, eq } from "drizzle-orm";
import { idempotencyKeys, orders, payments } from "../../src/infra/db/schema";
import { createTestApp, hasPostgres, openTestDatabase, type TestApp } from "../support/harness";
import { placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";
import { answersWithoutWaiting, holdRowLock } from "../support/row-locks";

// An Idempotency-Key costs no commit of its own: it is claimed in the request's first transaction (and, for an
// order, stored with its answer there). Two instances on one PostgreSQL: while the first request's transaction
// is open (held at a row lock of the test's own), the same key on the other instance must be answered 409 at
// once, not queue behind that transaction; once the first commits, the key replays its answer, and there is
// one order, one payment, one debit.
const url = globalThis.kicksTest.services.databaseUrl as string;

describe.skipIf(!hasPostgres)("an Idempotency-Key claimed in the request's first transaction, two instances", () => {
  let one: TestApp;
  let other: TestApp;
  // Its own pool: another instance of the app on the same database.
  const otherDatabase = hasPostgres ? openTestDatabase() : undefined;
  beforeAll(async () => {
    one = await createTestApp();
    other = await createTestApp({ database: otherDatabase });
  });
  afterAll(async () => {
    await one?.close();
    await other?.close();
  });

  const keyed = (token: string, key: string) => ({ token, headers: { "Idempotency-Key": key } });

  /** The order has one payment, and the buyer's 50,000 was debited once (30,000 left). */
  const expectPaidOnce = async (buyer: { token: string; user: { id: string } }, orderId: string) => {
    const [made] = await one.container.database.db
      .select({ n: count() })
      .from(payments)
      .where(eq(payments.orderId, orderId));
    expect(made?.n).toBe(1);
    expect((await one.get(`/api/v1/balances/${buyer.user.id}`, buyer)).body.balance).toBe(30_000);
  };

  /** A buyer charged 50,000 with an order of one 20,000 shoe to pay, and a fresh key to pay it with. */
  const payableOrder = async () => {
    const seller = await one.registerUser("SELLER");
    const buyer = await one.registerUser("BUYER");
    await one.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 50_000 }, buyer);
    const shoe = await createProductVia(one, seller.token, { price: 20_000, stock: 5 });
    const order = await placeOrder(one, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    return { buyer, order, key: crypto.randomUUID() };
  };

  it("answers an order's key 409 on the other instance while the first is in its transaction, then replays it", async () => {
    const seller = await one.registerUser("SELLER");
    const buyer = await one.registerUser("BUYER");
    const shoe = await createProductVia(one, seller.token, { price: 10_000, stock: 5 });
    const body = { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] };
    const key = crypto.randomUUID();

    // The order reserves its units as its transaction's last statement: it waits there, key claimed, uncommitted.
    const lock = await holdRowLock(url, (sql) => sql`select 1 from products where id = ${shoe.id} for update`);
    try {
      const first = one.post("/api/v1/orders", body, keyed(buyer.token, key));
      await expectInUseWhileFirstWaits(lock, () => other.post("/api/v1/orders", body, keyed(buyer.token, key)));

      await lock.release();
      const placed = await first;
      expect(placed.status).toBe(201);
      const again = await other.post("/api/v1/orders", body, keyed(buyer.token, key));
      expect(again.status).toBe(201);
      expect(again.headers.get("Idempotent-Replayed")).toBe("true");
      expect(again.body).toEqual(placed.body);
    } finally {
      await lock.end();
    }
    const [placedOrders] = await one.container.database.db
      .select({ n: count() })
      .from(orders)
      .where(eq(orders.userId, buyer.user.id));
    expect(placedOrders?.n).toBe(1);
  });

  // The key's lock is the transaction's own first statement; the order is placed by one statement, its reservation
  // first, which writes nothing when a line is refused. An order that passed its stock check on read but is refused
  // at its reservation (another sale took the last unit meanwhile) has written nothing: a refusal before any
  // effect, whose key is not kept (contract: Idempotency), so the retry, once stock is back, places the order. Its
  // refused update waited for the row's lock, which gives the transaction an id: the key is kept (a 400 for 24 h)
  // if that statement counts as a write whether or not it placed the order (StatementOptions.writesOnlyWithRows).
  it("keeps no key for an order refused at its reservation after its read saw stock: the retry places it", async () => {
    const seller = await one.registerUser("SELLER");
    const buyer = await one.registerUser("BUYER");
    const shoe = await createProductVia(one, seller.token, { price: 10_000, stock: 1 });
    const body = { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] };
    const key = crypto.randomUUID();

    // The order reads stock 1, then its statement waits at the product's row lock; meanwhile the last unit is
    // taken off sale (units stocked with it, so the books balance).
    const lock = await holdRowLock(url, (sql) => sql`select 1 from products where id = ${shoe.id} for update`);
    let refused: { status: number; body: any };
    try {
      const first = one.post("/api/v1/orders", body, keyed(buyer.token, key));
      await waitForWaiters(() => lock.waitingFor());
      await lock.take(
        (sql) =>
          sql`update products set stock = stock - 1, units_stocked = units_stocked - 1, version = version + 1
            where id = ${shoe.id}`,
      );
      await lock.release();
      refused = await first;
    } finally {
      await lock.end();
    }
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("INSUFFICIENT_STOCK");
    const kept = await one.container.database.db
      .select({ n: count() })
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.scope, buyer.user.id), eq(idempotencyKeys.key, key)));
    expect(kept[0]?.n).toBe(0);

    const current = (await one.get(`/api/v1/products/${shoe.id}`)).body;
    const restocked = await one.patch(`/api/v1/products/${shoe.id}`, { stock: 3, version: current.version }, seller);
    expect(restocked.status).toBe(200);
    const placed = await other.post("/api/v1/orders", body, keyed(buyer.token, key));
    expect(placed.status).toBe(201);
    expect(placed.headers.get("Idempotent-Replayed")).toBeNull();
  });

  it("answers a payment's key 409 on the other instance while the first is before its first commit, then replays it from the payment", async () => {
    const { buyer, order, key } = await payableOrder();

    // The payment's first transaction claims the key, then waits at the debit (the balance row).
    const lock = await holdRowLock(
      url,
      (sql) => sql`select 1 from balances where user_id = ${buyer.user.id} for update`,
    );
    let paid: { status: number; body: any; headers: Headers } | undefined;
    try {
      const first = one.post("/api/v1/payments/process", { orderId: order.id }, keyed(buyer.token, key));
      await expectInUseWhileFirstWaits(lock, () =>
        other.post("/api/v1/payments/process", { orderId: order.id }, keyed(buyer.token, key)),
      );

      await lock.release();
      paid = await first;
      expect(paid.status).toBe(200);
      expect(paid.body.status).toBe("COMPLETED");
    } finally {
      await lock.end();
    }

    const replayed = await other.post("/api/v1/payments/process", { orderId: order.id }, keyed(buyer.token, key));
    expect(replayed.status).toBe(200);
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replayed.body).toEqual(paid?.body);
    expect(replayed.headers.get("content-type")).toBe(paid?.headers.get("content-type") ?? null);

    // The key keeps no copy of a completed payment's answer: the payment answers, long after the key's lease too.
    const id = { scope: buyer.user.id, key };
    await one.container.database.db
      .update(idempotencyKeys)
      .set({ lockedUntil: new Date(Date.now() - 3_600_000) })
      .where(and(eq(idempotencyKeys.scope, id.scope), eq(idempotencyKeys.key, id.key)));
    const later = await one.post("/api/v1/payments/process", { orderId: order.id }, keyed(buyer.token, key));
    expect(later.status).toBe(200);
    expect(later.headers.get("Idempotent-Replayed")).toBe("true");
    expect(later.body).toEqual(paid?.body);

    await expectPaidOnce(buyer, order.id);
  });

  // The key's claim rides on the payment's start statement: its try-lock and row come before the order's row, so
  // a request with the key held answers at once even while the first waits for the order's row itself.
  it("answers a payment's key 409 at once while the first waits, inside its one start statement, at the order's row", async () => {
    const { buyer, order, key } = await payableOrder();

    const lock = await holdRowLock(url, (sql) => sql`select 1 from orders where id = ${order.id} for update`);
    try {
      const first = one.post("/api/v1/payments/process", { orderId: order.id }, keyed(buyer.token, key));
      await expectInUseWhileFirstWaits(lock, () =>
        other.post("/api/v1/payments/process", { orderId: order.id }, keyed(buyer.token, key)),
      );
      await lock.release();
      expect((await first).status).toBe(200);
    } finally {
      await lock.end();
    }
    await expectPaidOnce(buyer, order.id);
  });
});

/**
 * With the first request waiting at the test's lock (inside its transaction, after its claim), the second request
 * with the same key, sent to the other instance, answers 409 IDEMPOTENCY_KEY_IN_USE without waiting for the lock
 * itself.
 */
async function expectInUseWhileFirstWaits(
  lock: Awaited<ReturnType<typeof holdRowLock>>,
  send: () => Promise<{ status: number; body: any }>,
): Promise<void> {
  const [firstBackend] = await waitForWaiters(() => lock.waitingFor());
  const second = await answersWithoutWaiting(send(), async () => (await lock.waitingFor(firstBackend)).length > 0);
  if (second === "waits") throw new Error("the second request waited for the first one's lock instead of answering");
  expect(second.status).toBe(409);
  expect(second.body.code).toBe("IDEMPOTENCY_KEY_IN_USE");
}

/** The backends waiting for the test's lock, once there is one. */
async function waitForWaiters(waiting: () => Promise<number[]>): Promise<number[]> {
  for (;;) {
    const pids = await waiting();
    if (pids.length > 0) return pids;
    await Bun.sleep(25);
  }
}

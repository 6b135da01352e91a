import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { and, count, eq } from "drizzle-orm";
import type { PaymentRepository } from "../../src/domain/payments/ports";
import { idempotencyKeys, payments } from "../../src/infra/db/schema";
import { startGateway } from "../support/gateway";
import { createTestApp, hasPostgres, openTestDatabase, type TestApp } from "../support/harness";
import { placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";
import { holdRowLock } from "../support/row-locks";

const keyRowsOf = (t: TestApp, who: Who, key: string) =>
  t.container.database.db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.scope, who.user.id), eq(idempotencyKeys.key, key)));

// A keyed payment's Idempotency-Key is read by the payment's first read (its order and the payment its key made),
// not by a statement of its own before the handler (docs/checkout-performance.md). That read is sent outside any
// transaction and holds no lock: between it and the start's claim another request with the key may claim or
// finish it, and the read now comes after the body's validation. The contract's answers must not change.

type Who = Awaited<ReturnType<TestApp["registerUser"]>>;
type Answer = { status: number; body: any; headers: Headers };

const keyed = (who: { token: string }, key: string) => ({ token: who.token, headers: { "Idempotency-Key": key } });
const pay = (t: TestApp, who: Who, orderId: unknown, key: string): Promise<Answer> =>
  t.post("/api/v1/payments/process", { orderId }, keyed(who, key));

/** A buyer charged 50,000 (or `balance`) with `orders` unpaid orders of one 20,000 shoe each. */
async function buyerWithOrders(t: TestApp, orders = 1, balance = 50_000) {
  const seller = await t.registerUser("SELLER");
  const buyer = await t.registerUser("BUYER");
  await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: balance }, buyer);
  const shoe = await createProductVia(t, seller.token, { price: 20_000, stock: 5 });
  const placed = [];
  for (let i = 0; i < orders; i++) {
    placed.push(await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]));
  }
  return { buyer, orders: placed };
}

const balanceOf = async (t: TestApp, who: Who) =>
  (await t.get(`/api/v1/balances/${who.user.id}`, who)).body.balance as number;

const paymentsOf = async (t: TestApp, orderId: string) => {
  const [row] = await t.container.database.db
    .select({ n: count() })
    .from(payments)
    .where(eq(payments.orderId, orderId));
  return row?.n ?? 0;
};

/**
 * Runs `between` after every keyed payment read of `t` (the read that decided the key) and before the request
 * goes on to its start: what another client does in that window.
 */
async function betweenReadAndClaim<T>(t: TestApp, between: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  const repository = (t.container.services.payments as unknown as { deps: { payments: PaymentRepository } }).deps
    .payments;
  const read = repository.findOrderAndRequest;
  repository.findOrderAndRequest = async function (this: PaymentRepository, ...args) {
    const found = await read.apply(this, args);
    if (args[1]) await between();
    return found;
  };
  try {
    return await work();
  } finally {
    repository.findOrderAndRequest = read;
  }
}

describe("a keyed payment's key read by its first read", () => {
  const gateway = startGateway();
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { PAYMENT_GATEWAY_URL: gateway.url, PAYMENT_GATEWAY_TIMEOUT_MS: "2000" } });
  });
  afterAll(async () => {
    await t?.close();
    await gateway.stop();
  });

  it("answers 422 for another body, also one refused before anything is read, paying nothing", async () => {
    const { buyer, orders } = await buyerWithOrders(t, 2);
    const [first, second] = orders.map((order) => order.id) as [string, string];
    const key = crypto.randomUUID();
    const paid = await pay(t, buyer, first, key);
    expect(paid.status).toBe(200);

    const other = await pay(t, buyer, second, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    // A body the validator refuses sends nothing: the key's look is made after it, and decides.
    for (const body of [{ orderId: "not-a-uuid" }, {}]) {
      const refused = await t.post("/api/v1/payments/process", body, keyed(buyer, key));
      expect(refused.status).toBe(422);
      expect(refused.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    }
    expect(await paymentsOf(t, second)).toBe(0);
    expect((await t.get(`/api/v1/orders/${second}`, buyer)).body.status).toBe("CREATED");
    expect(await balanceOf(t, buyer)).toBe(30_000);

    // The same body: the first answer again.
    const replayed = await pay(t, buyer, first, key);
    expect(replayed.status).toBe(200);
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replayed.body).toEqual(paid.body);
    // A fresh key with a refused body: the refusal, no key kept (the retry is decided again).
    const fresh = await t.post(
      "/api/v1/payments/process",
      { orderId: "not-a-uuid" },
      keyed(buyer, crypto.randomUUID()),
    );
    expect(fresh.status).toBe(400);
  });

  it("answers 409 while the first request waits for the gateway, then 202 is not kept and the retry settles it", async () => {
    gateway.charge = "hang";
    gateway.lookup = "approved";
    try {
      const { buyer, orders } = await buyerWithOrders(t);
      const orderId = (orders[0] as { id: string }).id;
      const key = crypto.randomUUID();
      const first = pay(t, buyer, orderId, key);
      // The payment is GATEWAY_REQUESTED, its key in flight: a retry now is answered from the key, 409.
      for (;;) {
        const [row] = await t.container.database.db
          .select({ status: payments.status })
          .from(payments)
          .where(eq(payments.orderId, orderId));
        if (row?.status === "GATEWAY_REQUESTED") break;
        await Bun.sleep(20);
      }
      const meanwhile = await pay(t, buyer, orderId, key);
      expect(meanwhile.status).toBe(409);
      expect(meanwhile.body.code).toBe("IDEMPOTENCY_KEY_IN_USE");

      const pending = await first;
      expect(pending.status).toBe(202);
      expect(pending.headers.get("Retry-After")).not.toBeNull();
      // Not kept: the retry runs, finds the payment its key made and settles it with the gateway.
      const settled = await pay(t, buyer, orderId, key);
      expect(settled.status).toBe(200);
      expect(settled.body).toMatchObject({ id: pending.body.id, status: "COMPLETED" });
      const replayed = await pay(t, buyer, orderId, key);
      expect(replayed.status).toBe(200);
      expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
      expect(replayed.body).toEqual(settled.body);
      expect(await paymentsOf(t, orderId)).toBe(1);
      expect(await balanceOf(t, buyer)).toBe(30_000);
    } finally {
      gateway.charge = "approve";
    }
  });

  it("replays a paid request's 200 to the same body refused by validation, also once the key's lease ran out", async () => {
    const { buyer, orders } = await buyerWithOrders(t);
    const orderId = (orders[0] as { id: string }).id;
    const key = crypto.randomUUID();
    const paid = await pay(t, buyer, orderId, key);
    expect(paid.status).toBe(200);
    // The same bytes, hashed the same, sent as text: the validator refuses them before the handler reads anything.
    const asText = () =>
      t.post("/api/v1/payments/process", JSON.stringify({ orderId }), {
        token: buyer.token,
        headers: { "Idempotency-Key": key, "Content-Type": "text/plain" },
      });
    const withinLease = await asText();
    expect(withinLease.status).toBe(200);
    expect(withinLease.headers.get("Idempotent-Replayed")).toBe("true");
    expect(withinLease.body).toEqual(paid.body);
    // A paid request's key keeps no copy of its 200 and stays in flight (the payment answers it): its lease runs
    // out as a dead process's would. The answer is still the replay, never the refusal.
    await t.container.database.db
      .update(idempotencyKeys)
      .set({ lockedUntil: new Date(Date.now() - 1000) })
      .where(and(eq(idempotencyKeys.scope, buyer.user.id), eq(idempotencyKeys.key, key)));
    const pastLease = await asText();
    expect(pastLease.status).toBe(200);
    expect(pastLease.headers.get("Idempotent-Replayed")).toBe("true");
    expect(pastLease.body).toEqual(paid.body);
    expect(await paymentsOf(t, orderId)).toBe(1);
    expect(await balanceOf(t, buyer)).toBe(30_000);
  });

  it("replays a kept 402 from the read, and another buyer's same key and body gets the order's refusal, not it", async () => {
    const { buyer, orders } = await buyerWithOrders(t, 2, 10_000);
    const [first, second] = orders.map((order) => order.id) as [string, string];
    const key = crypto.randomUUID();
    const refused = await pay(t, buyer, first, key);
    expect(refused.status).toBe(402);
    const replayed = await pay(t, buyer, first, key);
    expect(replayed.status).toBe(402);
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replayed.body).toEqual(refused.body);
    expect((await pay(t, buyer, second, key)).body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    // Keys are per user: the same key and body from another buyer is that buyer's own, unused key.
    const other = await t.registerUser("BUYER");
    for (let i = 0; i < 2; i++) {
      const theirs = await pay(t, other, first, key);
      expect([403, 404]).toContain(theirs.status);
      expect(theirs.headers.get("Idempotent-Replayed")).toBeNull();
      expect(JSON.stringify(theirs.body)).not.toContain(refused.body.paymentId);
    }
    expect(await keyRowsOf(t, other, key)).toHaveLength(0);
    expect(await paymentsOf(t, second)).toBe(0);
  });
});

describe.skipIf(!hasPostgres)("a keyed payment's key read by its first read, two clients on two instances", () => {
  const url = globalThis.kicksTest.services.databaseUrl as string;
  let one: TestApp;
  let other: TestApp;
  const otherDatabase = hasPostgres ? openTestDatabase() : undefined;
  beforeAll(async () => {
    one = await createTestApp();
    other = await createTestApp({ database: otherDatabase });
  });
  afterAll(async () => {
    await one?.close();
    await other?.close();
  });

  it("replays the answer of a request that finished the key between this one's read and its claim", async () => {
    const { buyer, orders } = await buyerWithOrders(one);
    const orderId = (orders[0] as { id: string }).id;
    const key = crypto.randomUUID();
    let theirs: Answer | undefined;
    // This request read no key and no payment; the other client's request then runs to its end.
    const mine = await betweenReadAndClaim(
      one,
      async () => {
        theirs = await pay(other, buyer, orderId, key);
      },
      () => pay(one, buyer, orderId, key),
    );
    expect(theirs?.status).toBe(200);
    expect(theirs?.headers.get("Idempotent-Replayed")).toBeNull();
    expect(mine.status).toBe(200);
    expect(mine.headers.get("Idempotent-Replayed")).toBe("true");
    expect(mine.body).toEqual(theirs?.body);
    expect(await paymentsOf(one, orderId)).toBe(1);
    expect(await balanceOf(one, buyer)).toBe(30_000);
  });

  it("answers 409 when another request claimed the key between this one's read and its claim, paying once", async () => {
    const { buyer, orders } = await buyerWithOrders(one);
    const orderId = (orders[0] as { id: string }).id;
    const key = crypto.randomUUID();
    // The other client's request claims the key in its start, then waits there at the buyer's balance row.
    const lock = await holdRowLock(
      url,
      (sql) => sql`select 1 from balances where user_id = ${buyer.user.id} for update`,
    );
    let theirs: Promise<Answer> | undefined;
    try {
      const mine = await betweenReadAndClaim(
        one,
        async () => {
          theirs = pay(other, buyer, orderId, key);
          while ((await lock.waitingFor()).length === 0) await Bun.sleep(20);
        },
        () => pay(one, buyer, orderId, key),
      );
      expect(mine.status).toBe(409);
      expect(mine.body.code).toBe("IDEMPOTENCY_KEY_IN_USE");
      await lock.release();
      expect((await theirs)?.status).toBe(200);
    } finally {
      await lock.end();
    }
    const replayed = await pay(one, buyer, orderId, key);
    expect(replayed.status).toBe(200);
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await paymentsOf(one, orderId)).toBe(1);
    expect(await balanceOf(one, buyer)).toBe(30_000);
  });

  it("answers 503 when the read loses its connection, leaving no key: the retry pays, once", async () => {
    const { buyer, orders } = await buyerWithOrders(one);
    const orderId = (orders[0] as { id: string }).id;
    const key = crypto.randomUUID();
    // The read waits on the key's table, then its backend is terminated: the connection lost mid-read.
    const lock = await holdRowLock(url, (sql) => sql`lock table idempotency_keys in access exclusive mode`);
    try {
      const paying = pay(one, buyer, orderId, key);
      let reading = (await lock.waitingFor())[0];
      while (reading === undefined) {
        await Bun.sleep(20);
        reading = (await lock.waitingFor())[0];
      }
      await lock.take((sql) => sql`select pg_terminate_backend(${reading})`);
      const lost = await paying;
      expect(lost.status).toBe(503);
      expect(lost.headers.get("Retry-After")).not.toBeNull();
    } finally {
      await lock.end();
    }
    expect(await keyRowsOf(one, buyer, key)).toHaveLength(0);
    expect(await paymentsOf(one, orderId)).toBe(0);
    const retried = await pay(other, buyer, orderId, key);
    expect(retried.status).toBe(200);
    expect(retried.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await paymentsOf(one, orderId)).toBe(1);
    expect(await balanceOf(one, buyer)).toBe(30_000);
  });

  it("pays once when one key races from two clients: one fresh 200, the rest replays or 409", async () => {
    for (let round = 0; round < 3; round++) {
      const { buyer, orders } = await buyerWithOrders(one);
      const orderId = (orders[0] as { id: string }).id;
      const key = crypto.randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => pay(i % 2 === 0 ? one : other, buyer, orderId, key)),
      );
      const statuses = answers.map((answer) => answer.status);
      expect(
        statuses.every((status) => status === 200 || status === 409),
        String(statuses),
      ).toBe(true);
      const fresh = answers.filter((a) => a.status === 200 && a.headers.get("Idempotent-Replayed") === null);
      expect(fresh).toHaveLength(1);
      for (const answer of answers) {
        if (answer.status === 200) expect(answer.body).toEqual(fresh[0]?.body);
        else expect(answer.body.code).toBe("IDEMPOTENCY_KEY_IN_USE");
      }
      const replayed = await pay(other, buyer, orderId, key);
      expect(replayed.status).toBe(200);
      expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
      expect(replayed.body).toEqual(fresh[0]?.body);
      expect(await paymentsOf(one, orderId)).toBe(1);
      expect(await balanceOf(one, buyer)).toBe(30_000);
    }
  });
});

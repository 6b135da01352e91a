import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { DrizzleRefundRepository } from "../../src/infra/db/repositories/refund-repository";
import { Transactions } from "../../src/infra/db/transactions";
import { createTestApp, hasPostgres, type TestApp } from "../support/harness";
import { invariantViolations, payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";
import { startRefundGateway } from "../support/refund-gateway";

setDefaultTimeout(120_000);

// Two instances of the shop (two containers over one database, as two processes would be), a slow gateway,
// and refund tries racing: each try must prove it still holds its refund, attempts count the tries made.
const gateway = startRefundGateway();
const MAX_ATTEMPTS = 3;
const env = {
  PAYMENT_GATEWAY_URL: gateway.url,
  PAYMENT_GATEWAY_TIMEOUT_MS: "2000",
  REFUND_LEASE_SECONDS: "4",
  REFUND_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
  RETRY_BASE_DELAY_MS: "1",
};
const a = await createTestApp({ env });
const b = await createTestApp({ env });
afterAll(async () => {
  await a.close();
  await b.close();
  await gateway.stop();
});
const db = a.container.database.db;
const seller = await a.registerUser("SELLER");
type Who = Awaited<ReturnType<TestApp["registerUser"]>>;

async function paidOrder(price: number) {
  const buyer = await a.registerUser("BUYER");
  const shoe = await createProductVia(a, seller.token, { price, stock: 3 });
  const order = await placeOrder(a, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
  await payOrder(a, buyer, order.id);
  return { buyer, shoe, order };
}
const refundRows = async (ids: string[]) =>
  rowsOf<{ id: string; status: string; attempts: number; updated_at: string | Date }>(
    await db.execute(sql`select id, status, attempts, updated_at from refunds
      where id in (${sql.join(
        ids.map((id) => sql`${id}::uuid`),
        sql`, `,
      )})`),
  );
const ledgerRefunds = async (who: Who) =>
  (await a.get(`/api/v1/balances/${who.user.id}/transactions`, who)).body.items.filter(
    (e: { type: string }) => e.type === "REFUND",
  );

// Two instances over one embedded database is not a deployment (embedded mode is single-instance only).
describe.skipIf(!hasPostgres)("refund retries on two instances with a slow gateway", () => {
  it("count exactly the tries made, and never leave a refund MANUAL while a try of it is under way", async () => {
    gateway.answer = "fail";
    gateway.delayMs = 0;
    const orders: Awaited<ReturnType<typeof paidOrder>>[] = [];
    for (let group = 0; group < 3; group++) {
      orders.push(...(await Promise.all(Array.from({ length: 4 }, (_, i) => paidOrder(10_000 + group * 4 + i)))));
    }
    const refunds = await Promise.all(
      orders.map(({ buyer, order }) => a.post("/api/v1/refunds", { orderId: order.id, reason: "slow" }, buyer)),
    );
    const ids = refunds.map((r) => {
      expect(r.body).toMatchObject({ status: "FAILED", attempts: 1 });
      return r.body.id as string;
    });

    // Every try now takes 500 ms: a batch of the twelve takes longer than the 4 s lease.
    gateway.delayMs = 500;
    const deadline = Date.now() + 60_000;
    const unfinished = async () => (await refundRows(ids)).some((r) => r.status !== "MANUAL");
    const jobLoop = async (instance: TestApp) => {
      while (Date.now() < deadline && (await unfinished())) {
        await instance.container.services.refunds.retryDue();
        await Bun.sleep(10);
      }
    };
    await Promise.all([jobLoop(a), jobLoop(b)]);

    for (const row of await refundRows(ids)) {
      const calls = gateway.calls.filter((c) => c.refundId === row.id);
      expect({ id: row.id, status: row.status, attempts: row.attempts, calls: calls.length }).toEqual({
        id: row.id,
        status: "MANUAL",
        attempts: MAX_ATTEMPTS,
        calls: MAX_ATTEMPTS,
      });
      // Left to a person only after every try of it was answered (one clock: this machine's).
      const manualAt = new Date(row.updated_at).getTime();
      for (const call of calls) expect(call.endedAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(manualAt + 5);
      // Two tries of one refund never overlapped.
      const spans = calls
        .map((c) => [c.startedAt, c.endedAt as number])
        .sort((x, y) => (x[0] as number) - (y[0] as number));
      for (let i = 1; i < spans.length; i++) {
        expect(spans[i]?.[0] as number).toBeGreaterThanOrEqual(spans[i - 1]?.[1] as number);
      }
    }
  });

  it("lands a refund once when the two instances' jobs both find it due", async () => {
    gateway.answer = "fail";
    gateway.delayMs = 0;
    const { buyer, shoe, order } = await paidOrder(33_000);
    const first = await a.post("/api/v1/refunds", { orderId: order.id, reason: "twice" }, buyer);
    expect(first.body.status).toBe("FAILED");
    gateway.answer = "refund";
    gateway.delayMs = 200;
    await Promise.all([a.container.services.refunds.retryDue(), b.container.services.refunds.retryDue()]);
    const [row] = await refundRows([first.body.id]);
    expect(row).toMatchObject({ status: "REFUNDED", attempts: 2 });
    expect(gateway.calls.filter((c) => c.refundId === first.body.id)).toHaveLength(2);
    expect(await ledgerRefunds(buyer)).toHaveLength(1);
    expect(await invariantViolations(a, [shoe.id])).toEqual([]);
  });
});

describe("ten cancels of one paid order racing", () => {
  it("refund it once: 200 or 202 while the refund is in progress, 409 once cancelled, never a 400", async () => {
    gateway.answer = "refund";
    gateway.delayMs = 400;
    const { buyer, shoe, order } = await paidOrder(27_000);
    // On two instances where they can be (PostgreSQL), else on one.
    const instances = hasPostgres ? [a, b] : [a];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (instances[i % instances.length] as TestApp).put(`/api/v1/orders/${order.id}/cancel`, undefined, buyer),
      ),
    );
    for (const res of results) {
      expect([200, 202, 409]).toContain(res.status);
      if (res.status === 409) expect(res.body.code).toBe("ORDER_NOT_CANCELLABLE");
      else expect(res.body.id).toBe(order.id);
    }
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    const refunds = rowsOf<{ id: string; amount: number }>(
      await db.execute(sql`select id, amount from refunds where order_id = ${order.id}`),
    );
    expect(refunds.map((r) => Number(r.amount))).toEqual([27_000]);
    // A try that timed out on a loaded machine is FAILED: the job lands it.
    for (let i = 0; i < 5 && (await a.get(`/api/v1/orders/${order.id}`, buyer)).body.status !== "CANCELLED"; i++) {
      await db.execute(
        sql`update refunds set next_attempt_at = now() where order_id = ${order.id} and status = 'FAILED'`,
      );
      await a.container.services.refunds.retryDue();
    }
    const after = (await a.get(`/api/v1/orders/${order.id}`, buyer)).body;
    expect(after).toMatchObject({ status: "CANCELLED", refundedAmount: 27_000 });
    expect(await ledgerRefunds(buyer)).toHaveLength(1);
    expect(await invariantViolations(a, [shoe.id])).toEqual([]);
  });
});

describe("a try that lost its refund to another process", () => {
  it("cannot record its outcome: the settle presents its fencing token (attempts) and finds it changed", async () => {
    gateway.answer = "fail";
    gateway.delayMs = 0;
    const { buyer, order } = await paidOrder(4_000);
    const first = await a.post("/api/v1/refunds", { orderId: order.id, reason: "fenced" }, buyer);
    const repository = new DrizzleRefundRepository(new Transactions(db));
    await db.execute(sql`update refunds set next_attempt_at = now() where id = ${first.body.id}`);
    const mine = await repository.claim(first.body.id, 2);
    expect(mine).toMatchObject({ status: "PROCESSING", attempts: 2 });
    // Its lease runs out mid-try; another process takes the refund over.
    await db.execute(sql`update refunds set next_attempt_at = now() where id = ${first.body.id}`);
    const theirs = await repository.claim(first.body.id, 2);
    expect(theirs).toMatchObject({ status: "PROCESSING", attempts: 3 });
    expect(await repository.settle(mine as { id: string; attempts: number }, "MANUAL", { lastError: "late" })).toBe(
      undefined,
    );
    expect(await repository.settle(mine as { id: string; attempts: number }, "REFUNDED")).toBe(undefined);
    expect((await repository.find(first.body.id))?.status).toBe("PROCESSING");
    expect(
      await repository.settle(theirs as { id: string; attempts: number }, "FAILED", { retryInMs: 0 }),
    ).toMatchObject({ status: "FAILED", attempts: 3 });
  });
});

describe.skipIf(!hasPostgres)("a refund racing the order's fulfilment, and itself, with a slow gateway", () => {
  it("awaits the return of pairs shipped while the refund's gateway call was out; the checker agrees", async () => {
    gateway.answer = "refund";
    gateway.delayMs = 1_000;
    const { buyer, shoe, order } = await paidOrder(9_000);
    await a.patch(`/api/v1/orders/${order.id}/status`, { status: "PREPARING" }, seller);
    const call = gateway.nextCall((c) => c.amount === 9_000);
    const refunding = a.post("/api/v1/refunds", { orderId: order.id, reason: "changed my mind" }, buyer);
    await call;
    // The seller ships on the other instance while the gateway is still refunding.
    expect((await b.patch(`/api/v1/orders/${order.id}/status`, { status: "SHIPPED" }, seller)).status).toBe(200);
    expect((await refunding).body.status).toBe("REFUNDED");
    const shipped = (await a.get(`/api/v1/orders/${order.id}`, buyer)).body;
    expect(shipped).toMatchObject({ status: "CANCELLED", shippedAt: expect.any(String) });
    // The pair is at the buyer's door: awaited, not back on sale.
    expect((await a.get(`/api/v1/products/${shoe.id}`)).body).toMatchObject({ stock: 2, awaitingReturn: 1 });
    expect(await invariantViolations(a, [shoe.id])).toEqual([]);
  });

  it("makes one refund and one gateway call when the same Idempotency-Key arrives twice at once", async () => {
    gateway.answer = "refund";
    gateway.delayMs = 500;
    const { buyer, shoe, order } = await paidOrder(8_000);
    const key = { "Idempotency-Key": crypto.randomUUID() };
    const send = (app: TestApp) =>
      app.post(
        "/api/v1/refunds",
        { orderId: order.id, amount: 3_000, reason: "twice" },
        { token: buyer.token, headers: key },
      );
    const answers = await Promise.all([send(a), send(b)]);
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses).toEqual([201, 409]);
    expect(answers.find((res) => res.status === 409)?.body.code).toBe("IDEMPOTENCY_KEY_IN_USE");
    const made = answers.find((res) => res.status === 201)?.body;
    const replay = await send(b);
    expect([replay.status, replay.body.id, replay.headers.get("Idempotent-Replayed")]).toEqual([201, made.id, "true"]);
    const rows = rowsOf(await db.execute(sql`select id from refunds where order_id = ${order.id}`));
    expect(rows).toHaveLength(1);
    expect(gateway.calls.filter((c) => c.refundId === made.id)).toHaveLength(1);
    expect(await ledgerRefunds(buyer)).toHaveLength(1);
    expect(await invariantViolations(a, [shoe.id])).toEqual([]);
  });
});

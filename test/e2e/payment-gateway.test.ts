import { afterAll, beforeEach, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { startGateway } from "../support/gateway";
import { createTestApp, type TestApp } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// The HTTP adapter against a real local server that approves, declines, hangs, fails or answers garbage.
const gateway = startGateway();
const env = { PAYMENT_GATEWAY_URL: gateway.url, PAYMENT_GATEWAY_TIMEOUT_MS: "300" };
const t = await createTestApp({ env });
const apps: TestApp[] = [t];
afterAll(async () => {
  for (const app of apps) await app.close();
  await gateway.stop();
});
beforeEach(() => {
  gateway.charge = "approve";
  gateway.lookup = "approved";
});

const seller = await t.registerUser("SELLER");
type Who = Awaited<ReturnType<TestApp["registerUser"]>>;

async function unpaidOrder(price = 40_000) {
  const buyer = await t.registerUser("BUYER");
  await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 100_000 }, buyer);
  const shoe = await createProductVia(t, seller.token, { price, stock: 5 });
  const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
  return { buyer, shoe, order };
}
const balanceOf = async (who: Who) => (await t.get(`/api/v1/balances/${who.user.id}`, who)).body.balance as number;
const pay = (orderId: string, who: Who) => t.post("/api/v1/payments/process", { orderId }, who);
/** The same request as `pay`, with an Idempotency-Key (its retries are the same request again). */
const payWithKey = (orderId: string, who: { token: string }, key: string) =>
  t.post("/api/v1/payments/process", { orderId }, { token: who.token, headers: { "Idempotency-Key": key } });
const confirm = (paymentId: string, who: Who) => t.post("/api/v1/payments/confirm", { paymentId }, who);

describe("the HTTP payment gateway", () => {
  it("sends the charge with the payment id as Idempotency-Key and completes on APPROVED", async () => {
    const { buyer, order } = await unpaidOrder();
    const res = await pay(order.id, buyer);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("COMPLETED");
    const sent = gateway.requests.find((r) => r.body?.paymentId === res.body.id);
    expect(sent).toMatchObject({
      method: "POST",
      path: "/payments",
      idempotencyKey: res.body.id,
      body: { paymentId: res.body.id, orderId: order.id, amount: 40_000 },
    });
    expect(res.body.gatewayTransactionId).toBe(`tx-${res.body.id}`);
  });

  it("answers DECLINED with 402 PAYMENT_DECLINED and the balance restored", async () => {
    gateway.charge = "decline";
    const { buyer, order } = await unpaidOrder();
    const res = await pay(order.id, buyer);
    expect(res.status).toBe(402);
    expect(res.body).toMatchObject({ code: "PAYMENT_DECLINED", paymentId: expect.any(String) });
    expect(await balanceOf(buyer)).toBe(100_000);
  });

  for (const behaviour of ["hang", "error", "garbage"] as const) {
    it(`answers 202 GATEWAY_REQUESTED when the gateway ${behaviour === "hang" ? "times out" : behaviour === "error" ? "answers 500" : "answers garbage"}: nothing lost`, async () => {
      gateway.charge = behaviour;
      const { buyer, shoe, order } = await unpaidOrder();
      const res = await pay(order.id, buyer);
      expect(res.status).toBe(202);
      expect(res.body.status).toBe("GATEWAY_REQUESTED");
      // Debited and held: the order waits for the outcome.
      expect(await balanceOf(buyer)).toBe(60_000);
      expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body).toMatchObject({
        status: "CREATED",
        paymentId: res.body.id,
      });
      expect(await invariantViolations(t, [shoe.id])).toEqual([]);
    });
  }

  it("keeps an order with a payment in flight from being paid again, cancelled or expired", async () => {
    gateway.charge = "error";
    const { buyer, order } = await unpaidOrder();
    expect((await pay(order.id, buyer)).status).toBe(202);
    expect((await pay(order.id, buyer)).body.code).toBe("PAYMENT_IN_PROGRESS");
    expect((await t.request("PUT", `/api/v1/orders/${order.id}/cancel`, undefined, buyer)).body.code).toBe(
      "PAYMENT_IN_PROGRESS",
    );
    await t.container.database.db.execute(
      sql`update orders set expires_at = now() - interval '1 minute' where id = ${order.id}`,
    );
    await t.container.services.orders.expireDue();
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body.status).toBe("CREATED");
  });

  it("settles by confirm: 202 while PENDING, then COMPLETED once the gateway approves", async () => {
    gateway.charge = "error";
    const { buyer, shoe, order } = await unpaidOrder();
    const payment = (await pay(order.id, buyer)).body;
    gateway.lookup = "pending";
    const waiting = await confirm(payment.id, buyer);
    expect(waiting.status).toBe(202);
    expect(waiting.body.status).toBe("GATEWAY_REQUESTED");
    gateway.lookup = "approved";
    const done = await confirm(payment.id, buyer);
    expect(done.status).toBe(200);
    expect(done.body.status).toBe("COMPLETED");
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body.status).toBe("CONFIRMED");
    // Final: confirming again changes nothing.
    expect((await confirm(payment.id, buyer)).body).toMatchObject({
      status: "COMPLETED",
      updatedAt: done.body.updatedAt,
    });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("fails a payment the gateway never received (404) and restores the balance by a REVERSAL of it", async () => {
    gateway.charge = "hang";
    const { buyer, shoe, order } = await unpaidOrder();
    const payment = (await pay(order.id, buyer)).body;
    gateway.lookup = "unknown-payment";
    // Inside the charge's send window a 404 is "not yet" (test/e2e/payment-send-window.test.ts); here it has closed.
    expect((await confirm(payment.id, buyer)).status).toBe(202);
    await t.container.database.db.execute(
      sql`update payments set charge_window_ends_at = now() - interval '1 second' where id = ${payment.id}`,
    );
    const res = await confirm(payment.id, buyer);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "FAILED", failureReason: "NOT_RECEIVED_BY_GATEWAY" });
    expect(await balanceOf(buyer)).toBe(100_000);
    const ledger = (await t.get(`/api/v1/balances/${buyer.user.id}/transactions`, buyer)).body.items;
    expect(ledger.slice(0, 2).map((e: { type: string; referenceId: string }) => [e.type, e.referenceId])).toEqual([
      ["REVERSAL", payment.id],
      ["PAYMENT", payment.id],
    ]);
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body.paymentId).toBeUndefined();
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("gives back a declined payment's debit even when the buyer topped up to the cap meanwhile", async () => {
    gateway.charge = "error";
    const { buyer, shoe, order } = await unpaidOrder();
    const payment = (await pay(order.id, buyer)).body;
    expect(payment.status).toBe("GATEWAY_REQUESTED");
    // 60,000 left after the debit: top up to exactly the cap while the outcome is unknown.
    await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 9_940_000 }, buyer);
    for (let i = 0; i < 99; i++)
      await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 10_000_000 }, buyer);
    expect(await balanceOf(buyer)).toBe(1_000_000_000);
    gateway.lookup = "declined";
    const res = await confirm(payment.id, buyer);
    expect([res.status, res.body.status]).toEqual([200, "FAILED"]);
    expect(await balanceOf(buyer)).toBe(1_000_040_000);
    const ledger = (await t.get(`/api/v1/balances/${buyer.user.id}/transactions`, buyer)).body.items;
    expect(ledger[0]).toMatchObject({ type: "REVERSAL", amount: 40_000, referenceId: payment.id });
    const topUp = await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 1 }, buyer);
    expect([topUp.status, topUp.body.code]).toEqual([400, "BALANCE_LIMIT_EXCEEDED"]);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("answers a keyed retry whose stored answer was lost from the payment the first request made, never a 409", async () => {
    // In flight: the first request's answer (202) is lost, as a 5xx after the commit releases the key.
    gateway.charge = "error";
    const { buyer, shoe, order } = await unpaidOrder();
    const key = `pay-${crypto.randomUUID()}`;
    const payKeyed = () => payWithKey(order.id, buyer, key);
    const first = await payKeyed();
    expect([first.status, first.body.status]).toEqual([202, "GATEWAY_REQUESTED"]);
    const forgetKey = () => t.container.database.db.execute(sql`delete from idempotency_keys where key = ${key}`);
    await forgetKey();
    gateway.lookup = "pending";
    const stillOut = await payKeyed();
    expect([stillOut.status, stillOut.body.id, stillOut.body.status]).toEqual([
      202,
      first.body.id,
      "GATEWAY_REQUESTED",
    ]);
    // Once the gateway approved, the retry finishes the payment it made and answers it.
    await forgetKey();
    gateway.lookup = "approved";
    const finished = await payKeyed();
    expect([finished.status, finished.body.id, finished.body.status]).toEqual([200, first.body.id, "COMPLETED"]);
    await forgetKey();
    const again = await payKeyed();
    expect([again.status, again.body.id]).toEqual([200, first.body.id]);
    // Another key is another request: the order is paid.
    const other = await pay(order.id, buyer);
    expect([other.status, other.body.code]).toEqual([409, "ORDER_NOT_PAYABLE"]);
    expect(await balanceOf(buyer)).toBe(60_000);
    expect(gateway.requests.filter((r) => r.method === "POST" && r.body?.orderId === order.id)).toHaveLength(1);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("keeps no keyed 202 as the final answer: the same key asked again once the gateway approved answers 200 COMPLETED", async () => {
    gateway.charge = "error";
    const { buyer, shoe, order } = await unpaidOrder();
    const key = `pay-${crypto.randomUUID()}`;
    const first = await payWithKey(order.id, buyer, key);
    expect([first.status, first.body.status]).toEqual([202, "GATEWAY_REQUESTED"]);
    // Not final: the answer says when asking again may tell more, as confirm's 202 does.
    expect(Number(first.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    gateway.lookup = "approved";
    const again = await payWithKey(order.id, buyer, key);
    expect([again.status, again.body.id, again.body.status]).toEqual([200, first.body.id, "COMPLETED"]);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(gateway.requests.filter((r) => r.method === "POST" && r.body?.orderId === order.id)).toHaveLength(1);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("answers a keyed retry whose payment is still before the gateway step with 409 PAYMENT_IN_PROGRESS, kept for nothing", async () => {
    gateway.charge = "error";
    const { buyer, order } = await unpaidOrder();
    const key = `pay-${crypto.randomUUID()}`;
    const payKeyed = () => payWithKey(order.id, buyer, key);
    const first = await payKeyed();
    const db = t.container.database.db;
    // As if the first request were still validating (or had died there) when its answer was lost.
    await db.execute(sql`update payments set status = 'VALIDATING' where id = ${first.body.id}`);
    await db.execute(sql`delete from idempotency_keys where key = ${key}`);
    const retried = await payKeyed();
    expect([retried.status, retried.body.code, retried.body.paymentId]).toEqual([
      409,
      "PAYMENT_IN_PROGRESS",
      first.body.id,
    ]);
    expect(rowsOf(await db.execute(sql`select 1 from idempotency_keys where key = ${key}`))).toHaveLength(0);
    // Put back as it was, so the shared books stay whole for the files after this one.
    await db.execute(sql`update payments set status = 'GATEWAY_REQUESTED' where id = ${first.body.id}`);
    gateway.lookup = "approved";
    expect((await confirm(first.body.id, buyer)).body.status).toBe("COMPLETED");
  });

  it("answers a keyed retry of a declined payment with its decline (402 naming it), not a new attempt", async () => {
    gateway.charge = "decline";
    const { buyer, order } = await unpaidOrder();
    const key = `pay-${crypto.randomUUID()}`;
    const payKeyed = () => payWithKey(order.id, buyer, key);
    const first = await payKeyed();
    expect([first.status, first.body.code]).toEqual([402, "PAYMENT_DECLINED"]);
    await t.container.database.db.execute(sql`delete from idempotency_keys where key = ${key}`);
    gateway.charge = "approve";
    const retried = await payKeyed();
    expect([retried.status, retried.body.code, retried.body.paymentId]).toEqual([
      402,
      "PAYMENT_DECLINED",
      first.body.paymentId,
    ]);
    expect(gateway.requests.filter((r) => r.method === "POST" && r.body?.orderId === order.id)).toHaveLength(1);
    // A new key is a new attempt.
    expect((await pay(order.id, buyer)).status).toBe(200);
  });

  it("settles stuck payments in the recovery job, once, however many instances run it", async () => {
    gateway.charge = "error";
    const { buyer, shoe, order } = await unpaidOrder();
    const payment = (await pay(order.id, buyer)).body;
    const other = await createTestApp({ env });
    apps.push(other);
    // Due now rather than in PAYMENT_RECHECK_SECONDS.
    await t.container.database.db.execute(sql`update payments set next_check_at = now() where id = ${payment.id}`);
    gateway.lookup = "approved";
    // Other tests' payments may come due in these runs too: the effects on this one are what is counted.
    await Promise.all([t.container.services.payments.recover(), other.container.services.payments.recover()]);
    expect((await t.get(`/api/v1/payments/${payment.id}`, buyer)).body.status).toBe("COMPLETED");
    const events = await t.container.database.db.query.orderEvents.findMany({
      where: (e, { eq }) => eq(e.aggregateId, order.id),
      orderBy: (e, { asc }) => asc(e.seq),
    });
    expect(events.filter((e) => e.type === "PAYMENT_COMPLETED")).toHaveLength(1);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("asks about a payment still PENDING again on a later run, not at once", async () => {
    gateway.charge = "error";
    const { buyer, order } = await unpaidOrder();
    const payment = (await pay(order.id, buyer)).body;
    await t.container.database.db.execute(sql`update payments set next_check_at = now() where id = ${payment.id}`);
    gateway.lookup = "pending";
    const asked = () =>
      gateway.requests.filter((r) => r.method === "GET" && r.path === `/payments/${payment.id}`).length;
    await t.container.services.payments.recover();
    expect(asked()).toBe(1);
    await t.container.services.payments.recover();
    expect(asked()).toBe(1);
    const [row] = await t.container.database.db.query.payments.findMany({ where: (p, { eq }) => eq(p.id, payment.id) });
    const wait = row!.nextCheckAt!.getTime() - Date.now();
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(30_000);
  });
});

describe("the recovery job and payments that moved on", () => {
  it("never takes a payment that reached the gateway step for abandoned, even when it looked abandoned a moment before", async () => {
    gateway.charge = "error";
    const { buyer, order } = await unpaidOrder();
    const payment = (await pay(order.id, buyer)).body;
    expect(payment.status).toBe("GATEWAY_REQUESTED");
    // The job listed the payment while it was still VALIDATING; it moved on before the job acted.
    const service = t.container.services.payments as unknown as {
      deps: { payments: { findAbandoned: (...args: unknown[]) => Promise<string[]> } };
    };
    const repository = service.deps.payments;
    const original = repository.findAbandoned;
    repository.findAbandoned = async () => [payment.id];
    try {
      expect((await t.container.services.payments.recover()).abandoned).toBe(0);
    } finally {
      repository.findAbandoned = original;
    }
    expect((await t.get(`/api/v1/payments/${payment.id}`, buyer)).body.status).toBe("GATEWAY_REQUESTED");
    expect(await balanceOf(buyer)).toBe(60_000);
    gateway.lookup = "approved";
    expect((await confirm(payment.id, buyer)).body.status).toBe("COMPLETED");
  });

  it("settles the rest of a batch when one payment of it cannot be settled, and then says so", async () => {
    gateway.charge = "error";
    const broken = await unpaidOrder();
    const brokenPayment = (await pay(broken.order.id, broken.buyer)).body;
    const fine = await unpaidOrder();
    const finePayment = (await pay(fine.order.id, fine.buyer)).body;
    // A hold lost behind the payment's back: completing it must fail (and roll back), whatever else is due.
    await t.container.database.db.execute(sql`update orders set payment_id = null where id = ${broken.order.id}`);
    await t.container.database.db.execute(
      sql`update payments set next_check_at = now() - interval '1 minute' where id = ${brokenPayment.id}`,
    );
    await t.container.database.db.execute(sql`update payments set next_check_at = now() where id = ${finePayment.id}`);
    gateway.lookup = "approved";
    const failed = await t.container.services.payments.recover().then(
      () => undefined,
      (error: Error) => error,
    );
    // Refused by the completion's own statement, which then writes nothing (it commits by itself: no throw after it
    // could roll it back); the driver's error names the payment.
    expect(String((failed?.cause as Error | undefined)?.message)).toContain(
      `payment_complete: payment ${brokenPayment.id} moved without its order confirmed`,
    );
    expect((await t.get(`/api/v1/payments/${finePayment.id}`, fine.buyer)).body.status).toBe("COMPLETED");
    expect((await t.get(`/api/v1/payments/${brokenPayment.id}`, broken.buyer)).body.status).toBe("GATEWAY_REQUESTED");
    // Mended, so no later run (of any file on this database) meets it broken.
    await t.container.database.db.execute(
      sql`update orders set payment_id = ${brokenPayment.id} where id = ${broken.order.id}`,
    );
    expect((await confirm(brokenPayment.id, broken.buyer)).body.status).toBe("COMPLETED");
  });
});

import { afterAll, beforeEach, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import type { Disagreement } from "../../src/domain/payments/payment-reconciliation";
import { startAlertSink, startGateway } from "../support/gateway";
import { createTestApp, type TestApp } from "../support/harness";
import { placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";
import { waitFor } from "../support/wait";

// The gateway reconciliation (issue 16) against a real local HTTP gateway that remembers what it received,
// and the recovery job's second look at payments it failed as "never received".
const gateway = startGateway();
const alerts = startAlertSink();
const t = await createTestApp({
  env: {
    PAYMENT_GATEWAY_URL: gateway.url,
    PAYMENT_GATEWAY_TIMEOUT_MS: "300",
    PAYMENT_ABANDON_AFTER_MS: "1300",
    ALERT_WEBHOOK_URL: alerts.url,
  },
});
afterAll(async () => {
  await t.close();
  await gateway.stop();
  await alerts.stop();
});
beforeEach(() => {
  gateway.charge = "approve";
  gateway.lookup = "held";
});
const db = t.container.database.db;
const seller = await t.registerUser("SELLER");
const { paymentReconciliation: reconciliation } = t.container.services;
type Who = Awaited<ReturnType<TestApp["registerUser"]>>;

async function anOrder() {
  const buyer = await t.registerUser("BUYER");
  await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 100_000 }, buyer);
  const shoe = await createProductVia(t, seller.token, { price: 30_000, stock: 3 });
  const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
  return { buyer, order };
}
const pay = (orderId: string, who: Who) => t.post("/api/v1/payments/process", { orderId }, who);

/**
 * A payment failed as "never received" (its window closed, the gateway said 404) whose charge then landed at
 * the gateway after all: the gateway holds it APPROVED, our books say FAILED and gave the money back.
 */
async function lateLandedCharge() {
  const { buyer, order } = await anOrder();
  gateway.charge = "error";
  const payment = (await pay(order.id, buyer)).body;
  await db.execute(
    sql`update payments set charge_window_ends_at = now() - interval '1 second' where id = ${payment.id}`,
  );
  const failed = await t.post("/api/v1/payments/confirm", { paymentId: payment.id }, buyer);
  expect(failed.body.status).toBe("FAILED");
  gateway.held.set(payment.id, {
    paymentId: payment.id,
    orderId: order.id,
    amount: payment.amount,
    status: "APPROVED",
    transactionId: `tx-${payment.id}`,
  });
  gateway.charge = "approve";
  return { buyer, order, paymentId: payment.id as string };
}
const kinds = (disagreements: Disagreement[]) => disagreements.map((d) => d.kind).sort();

describe("the gateway reconciliation", () => {
  it("finds nothing to report for paid, declined and in-flight payments", async () => {
    const paid = await anOrder();
    expect((await pay(paid.order.id, paid.buyer)).status).toBe(200);
    const declined = await anOrder();
    gateway.charge = "decline";
    expect((await pay(declined.order.id, declined.buyer)).status).toBe(402);
    const inFlight = await anOrder();
    gateway.charge = "error";
    expect((await pay(inFlight.order.id, inFlight.buyer)).status).toBe(202);
    const report = await reconciliation.reconcile({
      orderIds: [paid.order.id, declined.order.id, inFlight.order.id],
    });
    expect(report).toMatchObject({ payments: 3, asked: 3, inFlight: 1, disagreements: [] });
  });

  it("reports a charge the gateway approved that is FAILED here, and a second approved charge for the order", async () => {
    const { buyer, order, paymentId } = await lateLandedCharge();
    const first = await reconciliation.reconcile({ orderIds: [order.id] });
    expect(first.disagreements).toEqual([
      { kind: "APPROVED_NOT_COMPLETED", paymentId, orderId: order.id, status: "FAILED", amount: 30_000 },
    ]);
    // The buyer pays again (the order was let go): now the gateway holds two approved charges for it.
    expect((await pay(order.id, buyer)).status).toBe(200);
    expect(gateway.approvedFor(order.id)).toHaveLength(2);
    const second = await reconciliation.reconcile({ orderIds: [order.id] });
    expect(kinds(second.disagreements)).toEqual(["APPROVED_NOT_COMPLETED", "DOUBLE_CHARGE"]);
  });

  it("reports a COMPLETED payment the gateway does not hold as approved, and a gateway it could not ask", async () => {
    const { buyer, order } = await anOrder();
    const payment = (await pay(order.id, buyer)).body;
    gateway.held.delete(payment.id);
    expect(kinds((await reconciliation.reconcile({ orderIds: [order.id] })).disagreements)).toEqual([
      "COMPLETED_NOT_APPROVED",
    ]);
    gateway.lookup = "error";
    expect(kinds((await reconciliation.reconcile({ orderIds: [order.id] })).disagreements)).toEqual([
      "GATEWAY_UNANSWERED",
    ]);
  });

  it("reports a refund REFUNDED here that the ledger never credited, and a credit without a REFUNDED refund", async () => {
    const since = new Date(Date.now() - 1000);
    const { buyer, order } = await anOrder();
    expect((await pay(order.id, buyer)).status).toBe(200);
    const refunded = await t.post("/api/v1/refunds", { orderId: order.id, amount: 10_000, reason: "scuffed" }, buyer);
    expect(refunded.body.status).toBe("REFUNDED");
    const mine = async () =>
      (await reconciliation.reconcile({ since })).disagreements.filter((d) => d.orderId === order.id);
    expect(await mine()).toEqual([]);
    await db.execute(sql`update refunds set amount = amount + 1 where id = ${refunded.body.id}`);
    expect(await mine()).toMatchObject([{ kind: "REFUNDED_NOT_CREDITED", status: "REFUNDED", credited: 10_000 }]);
    await db.execute(sql`update refunds set amount = amount - 1, status = 'FAILED' where id = ${refunded.body.id}`);
    expect(await mine()).toEqual([
      {
        kind: "REFUNDED_NOT_CREDITED",
        refundId: refunded.body.id,
        orderId: order.id,
        status: "FAILED",
        amount: 10_000,
        credited: 10_000,
      },
    ]);
  });
});

describe("the recovery job's second look at payments failed as never received", () => {
  it("schedules one more look a window after the failure, and none for a declined payment", async () => {
    const { paymentId } = await lateLandedCharge();
    const [row] = await db.query.payments.findMany({ where: (p, { eq }) => eq(p.id, paymentId) });
    expect(row?.nextCheckAt).not.toBeNull();
    const declined = await anOrder();
    gateway.charge = "decline";
    const payment = (await pay(declined.order.id, declined.buyer)).body;
    const [declinedRow] = await db.query.payments.findMany({ where: (p, { eq }) => eq(p.id, payment.paymentId) });
    expect(declinedRow?.nextCheckAt ?? null).toBeNull();
  });

  it("raises an alert when the gateway approved what it failed, and for the order's second approved charge", async () => {
    const { buyer, order, paymentId } = await lateLandedCharge();
    expect((await pay(order.id, buyer)).status).toBe(200);
    await db.execute(sql`update payments set next_check_at = now() where id = ${paymentId}`);
    await t.container.services.payments.recover();
    const raised = await waitFor("the alerts", () => {
      const mine = alerts.alerts.filter((a) => a.details.orderId === order.id);
      return mine.length >= 2 && mine;
    });
    expect(raised.map((a: { kind: string }) => a.kind).sort()).toEqual([
      "PAYMENT_APPROVED_NOT_COMPLETED",
      "PAYMENT_DOUBLE_CHARGE",
    ]);
    // Looked at once: a second run raises nothing more.
    await t.container.services.payments.recover();
    expect(alerts.alerts.filter((a) => a.details.orderId === order.id)).toHaveLength(2);
  });
});

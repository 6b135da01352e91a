import { afterAll, beforeEach, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { startGateway } from "../support/gateway";
import { createTestApp, type TestApp } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";
import { waitFor } from "../support/wait";

// Fault 1 of issue 16 (a double charge): a gateway 404 was taken as "never received" while our own charge POST
// was still on its way. The gateway here is a real HTTP server that holds a charge in transit: it receives
// (and approves) the POST only `transitMs` after it was sent, long after our client gave up on it, and
// answers lookups from what it has received, so 404 meanwhile.
const gateway = startGateway();
const TIMEOUT_MS = 300;
// The send window: a 404 counts as "never received" only this long after the charge POST started.
const ABANDON_AFTER_MS = 1_500;
const env = {
  PAYMENT_GATEWAY_URL: gateway.url,
  PAYMENT_GATEWAY_TIMEOUT_MS: String(TIMEOUT_MS),
  PAYMENT_ABANDON_AFTER_MS: String(ABANDON_AFTER_MS),
};
const t = await createTestApp({ env });
// A second instance on the same database, as a second container behind the load balancer.
const other = await createTestApp({ env });
afterAll(async () => {
  await gateway.settled();
  await t.close();
  await other.close();
  await gateway.stop();
});
beforeEach(() => {
  gateway.charge = "in-transit";
  gateway.lookup = "held";
  gateway.transitMs = 700;
});

const seller = await t.registerUser("SELLER");
type Who = Awaited<ReturnType<TestApp["registerUser"]>>;

async function unpaidOrder() {
  const buyer = await t.registerUser("BUYER");
  await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 100_000 }, buyer);
  const shoe = await createProductVia(t, seller.token, { price: 40_000, stock: 5 });
  const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
  return { buyer, shoe, order };
}
const balanceOf = async (who: Who) => (await t.get(`/api/v1/balances/${who.user.id}`, who)).body.balance as number;
const pay = (orderId: string, who: Who) => t.post("/api/v1/payments/process", { orderId }, who);
const confirmOn = (app: TestApp, paymentId: string, who: Who, key?: string) =>
  app.post("/api/v1/payments/confirm", { paymentId }, { ...who, headers: key ? { "Idempotency-Key": key } : {} });
const confirm = (paymentId: string, who: Who, key?: string) => confirmOn(t, paymentId, who, key);

/** Starts paying and returns once the charge POST has left (the gateway saw it start), with its payment id. */
async function payWithChargeInTransit(orderId: string, who: Who) {
  const paying = pay(orderId, who);
  const sent = await waitFor("the charge POST", () =>
    gateway.requests.find((r) => r.method === "POST" && r.path === "/payments" && r.body.orderId === orderId),
  );
  return { paying, paymentId: sent.body.paymentId as string, sentAt: Date.now() };
}
const sinceSent = (sentAt: number, ms: number) => Bun.sleep(Math.max(0, sentAt + ms - Date.now()));
const makeDue = (paymentId: string) =>
  t.container.database.db.execute(sql`update payments set next_check_at = now() where id = ${paymentId}`);

describe("the charge's send window", () => {
  it("answers 202 to a confirm 150 ms after the charge started while the gateway says 404, and completes once the charge lands", async () => {
    const { buyer, shoe, order } = await unpaidOrder();
    const { paying, paymentId, sentAt } = await payWithChargeInTransit(order.id, buyer);
    await sinceSent(sentAt, 150);

    const early = await confirm(paymentId, buyer);
    expect(early.status).toBe(202);
    expect(early.body.status).toBe("GATEWAY_REQUESTED");
    expect(await balanceOf(buyer)).toBe(60_000);
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body).toMatchObject({ status: "CREATED", paymentId });

    expect((await paying).status).toBe(202);
    // Paying again while the first charge is in flight is refused: no second charge is ever sent.
    expect((await pay(order.id, buyer)).body.code).toBe("PAYMENT_IN_PROGRESS");

    await gateway.settled();
    const done = await confirm(paymentId, buyer);
    expect(done.status).toBe(200);
    expect(done.body.status).toBe("COMPLETED");
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body.status).toBe("CONFIRMED");
    expect((await pay(order.id, buyer)).body.code).toBe("ORDER_NOT_PAYABLE");
    expect(gateway.approvedFor(order.id)).toHaveLength(1);
    expect(await balanceOf(buyer)).toBe(60_000);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("lets the recovery job find a 404 inside the window pending too, and settle the payment once the charge lands", async () => {
    const { buyer, shoe, order } = await unpaidOrder();
    const { paying, paymentId } = await payWithChargeInTransit(order.id, buyer);
    expect((await paying).status).toBe(202);
    await makeDue(paymentId);
    await t.container.services.payments.recover();
    expect((await t.get(`/api/v1/payments/${paymentId}`, buyer)).body.status).toBe("GATEWAY_REQUESTED");
    expect(await balanceOf(buyer)).toBe(60_000);

    await gateway.settled();
    await makeDue(paymentId);
    await other.container.services.payments.recover();
    expect((await t.get(`/api/v1/payments/${paymentId}`, buyer)).body.status).toBe("COMPLETED");
    expect(gateway.approvedFor(order.id)).toHaveLength(1);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("takes a 404 as final only once the window has closed: then FAILED, balance restored, the order payable again", async () => {
    // The charge never reaches the gateway (lost on the way, or the process died before sending it).
    gateway.charge = "hang";
    const { buyer, shoe, order } = await unpaidOrder();
    const { paying, paymentId, sentAt } = await payWithChargeInTransit(order.id, buyer);
    expect((await paying).status).toBe(202);
    expect((await confirm(paymentId, buyer)).status).toBe(202);
    await makeDue(paymentId);
    await t.container.services.payments.recover();
    expect((await t.get(`/api/v1/payments/${paymentId}`, buyer)).body.status).toBe("GATEWAY_REQUESTED");

    await sinceSent(sentAt, ABANDON_AFTER_MS + 200);
    const failed = await confirm(paymentId, buyer);
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ status: "FAILED", failureReason: "NOT_RECEIVED_BY_GATEWAY" });
    expect(await balanceOf(buyer)).toBe(100_000);
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body.paymentId).toBeUndefined();
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("never lets a late charge and a second payment make two approved charges for one order", async () => {
    gateway.transitMs = 400;
    const { buyer, order } = await unpaidOrder();
    const { paying, paymentId } = await payWithChargeInTransit(order.id, buyer);
    // Everything a buyer and the job may do while the first charge is on its way.
    const tries = await Promise.all([
      confirm(paymentId, buyer),
      confirmOn(other, paymentId, buyer),
      pay(order.id, buyer),
      makeDue(paymentId).then(() => other.container.services.payments.recover()),
    ]);
    expect(tries[0].body.status).toBe("GATEWAY_REQUESTED");
    expect(tries[1].body.status).toBe("GATEWAY_REQUESTED");
    expect(tries[2].body.code).toBe("PAYMENT_IN_PROGRESS");
    await paying;
    await gateway.settled();
    expect((await confirm(paymentId, buyer)).body.status).toBe("COMPLETED");
    expect((await pay(order.id, buyer)).status).toBe(409);
    expect(gateway.approvedFor(order.id)).toHaveLength(1);
  });

  it("answers the same confirm twice (with and without a key) the same way while in transit, and settles once", async () => {
    const { buyer, shoe, order } = await unpaidOrder();
    const { paying, paymentId, sentAt } = await payWithChargeInTransit(order.id, buyer);
    await sinceSent(sentAt, 150);
    const key = crypto.randomUUID();
    const first = await Promise.all([confirm(paymentId, buyer), confirm(paymentId, buyer)]);
    expect(first.map((r) => r.status)).toEqual([202, 202]);
    const keyed = await confirm(paymentId, buyer, key);
    expect(keyed.status).toBe(202);
    // An answer still pending is not stored as final: the same key asks again once the charge has landed.
    await paying;
    await gateway.settled();
    const again = await confirm(paymentId, buyer, key);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe("COMPLETED");
    const replay = await confirm(paymentId, buyer, key);
    expect(replay.body.status).toBe("COMPLETED");
    const events = await t.container.database.db.query.orderEvents.findMany({
      where: (e, { eq }) => eq(e.aggregateId, order.id),
    });
    expect(events.filter((e) => e.type === "PAYMENT_COMPLETED")).toHaveLength(1);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("settles once when two instances race confirm against the recovery job as the charge lands", async () => {
    const { buyer, shoe, order } = await unpaidOrder();
    const { paying, paymentId } = await payWithChargeInTransit(order.id, buyer);
    await paying;
    await gateway.settled();
    await makeDue(paymentId);
    const [viaA, viaB] = await Promise.all([
      confirm(paymentId, buyer),
      confirmOn(other, paymentId, buyer),
      t.container.services.payments.recover(),
      other.container.services.payments.recover(),
    ]);
    expect(viaA.body.status).toBe("COMPLETED");
    expect(viaB.body.status).toBe("COMPLETED");
    const events = await t.container.database.db.query.orderEvents.findMany({
      where: (e, { eq }) => eq(e.aggregateId, order.id),
    });
    expect(events.filter((e) => e.type === "PAYMENT_COMPLETED")).toHaveLength(1);
    expect(await balanceOf(buyer)).toBe(60_000);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });
});

describe("the HTTP gateway client and the send window", () => {
  it("never starts a charge POST once its deadline has passed (the window recorded before it assumed so)", async () => {
    const { HttpGateway } = await import("../../src/infra/gateway/http-gateway");
    const client = new HttpGateway(gateway.url, TIMEOUT_MS);
    const paymentId = crypto.randomUUID();
    const answer = await client.charge({ paymentId, orderId: crypto.randomUUID(), amount: 1_000 }, Date.now() - 1);
    expect(answer.status).toBe("UNKNOWN");
    expect(gateway.requests.some((r) => r.body?.paymentId === paymentId)).toBe(false);
  });

  it("gives a charge POST up at its deadline when that comes before the timeout", async () => {
    gateway.charge = "hang";
    const { HttpGateway } = await import("../../src/infra/gateway/http-gateway");
    const client = new HttpGateway(gateway.url, 10_000);
    const started = Date.now();
    const answer = await client.charge(
      { paymentId: crypto.randomUUID(), orderId: crypto.randomUUID(), amount: 1_000 },
      started + 200,
    );
    expect(answer.status).toBe("UNKNOWN");
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

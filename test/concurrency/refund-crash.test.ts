import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { checkInvariants } from "../../src/infra/db/invariants";
import { createTestApp, hasPostgres, testEnv } from "../support/harness";
import { payOrder, placeOrder } from "../support/orders";
import { freePort, waitForHealth } from "../support/processes";
import { createProductVia } from "../support/products";
import { startRefundGateway } from "../support/refund-gateway";

// A server process started and killed with SIGKILL in the middle of a refund, then the same request retried
// on another instance: needs the run's PostgreSQL (two processes on one database).
setDefaultTimeout(120_000);

const root = join(import.meta.dir, "../..");
const gateway = startRefundGateway();
const env = { PAYMENT_GATEWAY_URL: gateway.url, PAYMENT_GATEWAY_TIMEOUT_MS: "1000", RETRY_BASE_DELAY_MS: "1" };
afterAll(() => gateway.stop());

function startServer() {
  const port = freePort();
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^ADMIN_/.test(name)));
  const proc = Bun.spawn(["bun", "src/index.ts"], {
    cwd: root,
    env: { ...inherited, ...testEnv({ ...env, PORT: String(port), LOG_LEVEL: "error" }) },
    stdout: "ignore",
    stderr: "pipe",
  });
  return { base: `http://127.0.0.1:${port}`, proc };
}

describe.skipIf(!hasPostgres)("POST /refunds on a process killed mid-request", () => {
  it("leaves one refund, which a same-key retry on another instance answers with and the job lands once", async () => {
    const survivor = await createTestApp({ env });
    const doomed = startServer();
    try {
      const db = survivor.container.database.db;
      const seller = await survivor.registerUser("SELLER");
      const buyer = await survivor.registerUser("BUYER");
      const shoe = await createProductVia(survivor, seller.token, { price: 10_000, stock: 2 });
      const order = await placeOrder(survivor, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
      const payment = await payOrder(survivor, buyer, order.id);
      await waitForHealth(doomed.base, doomed.proc);

      // The first request reaches the gateway (the refund is committed by then), and its process dies.
      gateway.answer = "hang";
      const key = `refund-${crypto.randomUUID()}`;
      const body = { orderId: order.id, amount: 3_000, reason: "too small" };
      const headers = {
        Authorization: `Bearer ${buyer.token}`,
        "Content-Type": "application/json",
        "Idempotency-Key": key,
      };
      const arrived = gateway.nextCall((call) => call.paymentId === payment.id);
      const lost = fetch(`${doomed.base}/api/v1/refunds`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
      }).catch((error: unknown) => error);
      const firstCall = await arrived;
      doomed.proc.kill("SIGKILL");
      await doomed.proc.exited;
      expect(await lost).toBeInstanceOf(Error);

      const left = rowsOf<{ id: string; status: string; attempts: number; idempotency_key: string }>(
        await db.execute(sql`select id, status, attempts, idempotency_key from refunds where order_id = ${order.id}`),
      );
      expect(left).toEqual([{ id: firstCall.refundId, status: "PROCESSING", attempts: 1, idempotency_key: key }]);

      const retry = () =>
        survivor.post("/api/v1/refunds", body, { token: buyer.token, headers: { "Idempotency-Key": key } });
      // While the dead request's in-flight lease lasts, the key is in use.
      expect((await retry()).body.code).toBe("IDEMPOTENCY_KEY_IN_USE");
      // Its 60 s pass: the retry may run the request again, and finds the refund the dead one recorded.
      await db.execute(sql`update idempotency_keys set locked_until = now() - interval '1 second' where key = ${key}`);
      const again = await retry();
      expect(again.status).toBe(201);
      expect(again.body).toMatchObject({ id: firstCall.refundId, amount: 3_000 });

      // The dead try's lease runs out too: the job (on the survivor) takes the refund over and lands it.
      gateway.answer = "refund";
      await db.execute(sql`update refunds set next_attempt_at = now() - interval '1 second' where order_id = ${order.id}
        and status = 'PROCESSING'`);
      await survivor.container.services.refunds.retryDue();
      const landed = (await survivor.get(`/api/v1/refunds/${firstCall.refundId}`, buyer)).body;
      expect(landed).toMatchObject({ status: "REFUNDED", amount: 3_000, attempts: 2 });

      // The gateway was asked about this payment's one refund only (the job may also meet other files' refunds).
      const ofThisPayment = gateway.calls.filter((c) => c.paymentId === firstCall.paymentId);
      expect(ofThisPayment.map((c) => [c.refundId, c.idempotencyKey])).toEqual([
        [firstCall.refundId, firstCall.refundId],
        [firstCall.refundId, firstCall.refundId],
      ]);
      const refundsOfOrder = rowsOf<{ id: string }>(
        await db.execute(sql`select id from refunds where order_id = ${order.id}`),
      );
      expect(refundsOfOrder.map((r) => r.id)).toEqual([firstCall.refundId]);
      expect((await survivor.get(`/api/v1/balances/${buyer.user.id}`, buyer)).body.balance).toBe(3_000);
      expect((await survivor.get(`/api/v1/orders/${order.id}`, buyer)).body).toMatchObject({
        status: "CONFIRMED",
        refundedAmount: 3_000,
      });
      // Once more with the key: the landed refund, stored as the answer from now on.
      const replay = await retry();
      expect(replay.body).toMatchObject({ id: firstCall.refundId, status: "REFUNDED" });
      expect(await checkInvariants(db, { productIds: [shoe.id] })).toEqual([]);
    } finally {
      doomed.proc.kill("SIGKILL");
      await survivor.close();
    }
  });
});

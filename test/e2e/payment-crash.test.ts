import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { startGateway } from "../support/gateway";
import { createTestApp, hasPostgres, testEnv } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { freePort, waitForHealth } from "../support/processes";
import { createProductVia } from "../support/products";
import { waitFor } from "../support/wait";

// It starts a server process: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(60_000);

// Bad luck, for real: the server process that sent a charge is killed (-9) while the charge is still on its way
// to the gateway. Another instance on the same database must neither fail the payment on the gateway's 404
// (the charge lands later) nor leave it unsettled once it has.
const root = join(import.meta.dir, "../..");
const gateway = startGateway();
gateway.charge = "in-transit";
gateway.lookup = "held";
gateway.transitMs = 1_500;
const env = {
  PAYMENT_GATEWAY_URL: gateway.url,
  PAYMENT_GATEWAY_TIMEOUT_MS: "300",
  PAYMENT_ABANDON_AFTER_MS: "2500",
};
afterAll(async () => {
  await gateway.settled();
  await gateway.stop();
});

describe.skipIf(!hasPostgres)("a server killed while its charge is in transit", () => {
  it("leaves a payment that another instance settles as the gateway saw it: one approved charge, books whole", async () => {
    const t = await createTestApp({ env });
    const port = freePort();
    const server = Bun.spawn(["bun", "src/index.ts"], {
      cwd: root,
      env: { ...process.env, ...testEnv({ ...env, PORT: String(port) }) },
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      const seller = await t.registerUser("SELLER");
      const buyer = await t.registerUser("BUYER");
      await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 100_000 }, buyer);
      const shoe = await createProductVia(t, seller.token, { price: 35_000, stock: 2 });
      const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
      await waitForHealth(`http://127.0.0.1:${port}`, server);

      const paying = fetch(`http://127.0.0.1:${port}/api/v1/payments/process`, {
        method: "POST",
        headers: { Authorization: `Bearer ${buyer.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ orderId: order.id }),
      }).catch(() => undefined);
      const sent = await waitFor("the charge POST", () =>
        gateway.requests.find((r) => r.method === "POST" && r.body?.orderId === order.id),
      );
      server.kill("SIGKILL");
      await server.exited;
      await paying;
      const paymentId = sent.body.paymentId as string;

      // This instance asks while the charge is still in transit: 404, inside the window, so not final.
      await t.container.database.db.execute(sql`update payments set next_check_at = now() where id = ${paymentId}`);
      await t.container.services.payments.recover();
      expect((await t.post("/api/v1/payments/confirm", { paymentId }, buyer)).status).toBe(202);
      expect((await t.get(`/api/v1/balances/${buyer.user.id}`, buyer)).body.balance).toBe(65_000);

      await gateway.settled();
      await t.container.database.db.execute(sql`update payments set next_check_at = now() where id = ${paymentId}`);
      await t.container.services.payments.recover();
      expect((await t.get(`/api/v1/payments/${paymentId}`, buyer)).body.status).toBe("COMPLETED");
      expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body.status).toBe("CONFIRMED");
      expect(gateway.approvedFor(order.id)).toHaveLength(1);
      expect(await invariantViolations(t, [shoe.id])).toEqual([]);
      expect(await t.container.services.paymentReconciliation.reconcile({ orderIds: [order.id] })).toMatchObject({
        disagreements: [],
      });
    } finally {
      server.kill("SIGKILL");
      await t.close();
    }
  });
});

describe("the server process with payment timings that break the send window", () => {
  it("refuses to start, with one line naming the setting and the rule", async () => {
    const server = Bun.spawn(["bun", "src/index.ts"], {
      cwd: root,
      env: { ...process.env, ...testEnv({ PORT: String(freePort()), PAYMENT_GATEWAY_TIMEOUT_MS: "9500" }) },
      stdout: "ignore",
      stderr: "pipe",
    });
    expect(await server.exited).toBe(1);
    const stderr = (await new Response(server.stderr).text()).trim();
    expect(stderr.split("\n")).toHaveLength(1);
    expect(stderr).toContain(
      "PAYMENT_ABANDON_AFTER_MS: must be at least PAYMENT_GATEWAY_TIMEOUT_MS (9500 ms) + 1000 ms",
    );
  });
});

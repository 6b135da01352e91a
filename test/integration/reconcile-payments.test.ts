import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { join } from "node:path";
import { parseSince } from "../../src/commands/reconcile-payments";
import { openDatabase } from "../../src/infra/db/client";
import { startGateway } from "../support/gateway";
import { createTestApp, freshPostgresDatabase, hasPostgres, testEnv } from "../support/harness";
import { placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// It runs the command as a process several times: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(60_000);

// `bun run reconcile:payments` as an operator runs it, on a database of its own (so only these payments
// are in its window) and against a real local HTTP gateway.
const root = join(import.meta.dir, "../..");
const gateway = startGateway();
gateway.lookup = "held";
afterAll(() => gateway.stop());

async function reconcile(env: Record<string, string>, ...args: string[]) {
  const proc = Bun.spawn(["bun", "run", "reconcile:payments", ...args], {
    cwd: root,
    env: { ...process.env, ...testEnv({ PAYMENT_GATEWAY_URL: gateway.url, ...env }) },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const lines = stdout.trim().split("\n");
  const json = lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
  return { exitCode: await proc.exited, lines, json, stderr };
}

describe("--since", () => {
  it("reads an ISO time or a duration back from now, and refuses anything else", () => {
    const now = Date.parse("2026-12-06T12:00:00.000Z");
    expect(parseSince("90m", now).toISOString()).toBe("2026-12-06T10:30:00.000Z");
    expect(parseSince("7d", now).toISOString()).toBe("2026-11-29T12:00:00.000Z");
    expect(parseSince("2026-12-01T00:00:00Z", now).toISOString()).toBe("2026-12-01T00:00:00.000Z");
    for (const bad of ["yesterday", "10", "5w", "2026-13-45"]) expect(() => parseSince(bad, now)).toThrow("--since");
  });
});

describe.skipIf(!hasPostgres)("bun run reconcile:payments", async () => {
  const url = hasPostgres ? await freshPostgresDatabase() : "";
  const database = hasPostgres ? openDatabase({ url, poolSize: 5 }) : undefined;
  if (database) await database.migrate();
  afterAll(() => database?.close());
  const env = { DATABASE_URL: url, PAYMENT_GATEWAY_TIMEOUT_MS: "300" };

  it("exits 0 when the gateway agrees, 1 with a line per disagreement, 2 on a bad --since", async () => {
    const t = await createTestApp({ env: { PAYMENT_GATEWAY_URL: gateway.url, ...env }, database });
    try {
      const seller = await t.registerUser("SELLER");
      const buyer = await t.registerUser("BUYER");
      await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 100_000 }, buyer);
      const shoe = await createProductVia(t, seller.token, { price: 25_000, stock: 5 });
      const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
      const payment = (await t.post("/api/v1/payments/process", { orderId: order.id }, buyer)).body;
      expect(payment.status).toBe("COMPLETED");

      const clean = await reconcile(env, "--since", "1h");
      expect(clean.exitCode).toBe(0);
      expect(clean.json).toEqual([
        { summary: expect.objectContaining({ payments: 1, asked: 1, disagreements: 0, byKind: {} }) },
      ]);

      // The gateway has no record of the charge our books call COMPLETED.
      gateway.held.delete(payment.id);
      const found = await reconcile(env, "--since", "1h");
      expect(found.exitCode).toBe(1);
      expect(found.json[0]).toEqual({
        kind: "COMPLETED_NOT_APPROVED",
        paymentId: payment.id,
        orderId: order.id,
        gateway: "NOT_FOUND",
      });
      expect(found.json[1].summary).toMatchObject({ disagreements: 1, byKind: { COMPLETED_NOT_APPROVED: 1 } });
      const text = await reconcile(env, "--format", "text");
      expect(text.exitCode).toBe(1);
      expect(text.lines[0]).toContain(`COMPLETED_NOT_APPROVED: Payment ${payment.id} is COMPLETED here`);

      // A window that ends before the payment: nothing in it.
      expect((await reconcile(env, "--since", new Date(Date.now() + 60_000).toISOString())).exitCode).toBe(0);
      const bad = await reconcile(env, "--since", "last tuesday");
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain("--since");
    } finally {
      await t.close();
    }
  });
});

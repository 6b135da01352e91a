import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { join } from "node:path";
import { and, count, eq } from "drizzle-orm";
import { idempotencyKeys, orders, payments } from "../../src/infra/db/schema";
import { createTestApp, hasPostgres, type TestApp, testEnv } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { freePort, waitForHealth } from "../support/processes";
import { createProductVia } from "../support/products";
import { holdRowLock } from "../support/row-locks";
import { waitFor } from "../support/wait";

// It starts server processes: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(90_000);

// A server killed (-9) between its key's claim and its answer: the claim is in the request's first transaction,
// which dies with the process, so a retry with the key runs at once (no 409 for the minute of a lease) and the
// work is done once. The server is stopped inside that transaction by a row lock the test holds.
const root = join(import.meta.dir, "../..");
const url = globalThis.kicksTest.services.databaseUrl as string;

describe.skipIf(!hasPostgres)("a server killed between an Idempotency-Key's claim and its answer", () => {
  let t: TestApp;
  const servers: Bun.Subprocess[] = [];
  afterAll(async () => {
    for (const server of servers) server.kill("SIGKILL");
    await t?.close();
  });

  async function startServer() {
    t ??= await createTestApp();
    const port = freePort();
    const server = Bun.spawn(["bun", "src/index.ts"], {
      cwd: root,
      env: { ...process.env, ...testEnv({ PORT: String(port) }) },
      stdout: "ignore",
      stderr: "ignore",
    });
    servers.push(server);
    const base = `http://127.0.0.1:${port}`;
    await waitForHealth(base, server);
    return { server, base };
  }

  /** POSTs through the doomed server, waits until its transaction waits for the test's lock, kills it. */
  async function killedWhileWaiting(
    lock: Awaited<ReturnType<typeof holdRowLock>>,
    post: (base: string) => Promise<unknown>,
  ) {
    const { server, base } = await startServer();
    const answered = post(base).catch(() => undefined);
    const [backend] = await waitFor("the request to wait for the lock", async () => {
      const waiting = await lock.waitingFor();
      return waiting.length > 0 && waiting;
    });
    server.kill("SIGKILL");
    await server.exited;
    await answered;
    // Its backend ends while its statement still waits: PostgreSQL looks at the client while a statement runs
    // (client_connection_check_interval, client.ts). A payment's start is a statement sent on its own, which
    // commits by itself when it ends: it must not run on once the lock lets it, for a client that is gone.
    await waitFor("the dead server's backend to end", async () => !(await lock.connected(backend as number)));
    await lock.end();
  }

  const keyedPost = (base: string, path: string, token: string, key: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify(body),
    });

  it("leaves no claim of an order's key: the retry places the order, once", async () => {
    t ??= await createTestApp();
    const seller = await t.registerUser("SELLER");
    const buyer = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 3 });
    const body = { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] };
    const key = crypto.randomUUID();

    // The order's last statement reserves the units: it waits there, the key claimed in its open transaction.
    const lock = await holdRowLock(url, (sql) => sql`select 1 from products where id = ${shoe.id} for update`);
    await killedWhileWaiting(lock, (base) => keyedPost(base, "/api/v1/orders", buyer.token, key, body));

    const keyRows = await t.container.database.db
      .select({ n: count() })
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.scope, buyer.user.id), eq(idempotencyKeys.key, key)));
    expect(keyRows[0]?.n).toBe(0);
    const retry = await t.post("/api/v1/orders", body, { token: buyer.token, headers: { "Idempotency-Key": key } });
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();
    const again = await t.post("/api/v1/orders", body, { token: buyer.token, headers: { "Idempotency-Key": key } });
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body).toEqual(retry.body);

    const placed = await t.container.database.db
      .select({ n: count() })
      .from(orders)
      .where(eq(orders.userId, buyer.user.id));
    expect(placed[0]?.n).toBe(1);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("leaves no claim of a payment's key before its first commit: the retry pays, once", async () => {
    t ??= await createTestApp();
    const seller = await t.registerUser("SELLER");
    const buyer = await t.registerUser("BUYER");
    await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 50_000 }, buyer);
    const shoe = await createProductVia(t, seller.token, { price: 20_000, stock: 3 });
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    const key = crypto.randomUUID();

    // The payment's first transaction claims the key, then waits at the debit.
    const lock = await holdRowLock(
      url,
      (sql) => sql`select 1 from balances where user_id = ${buyer.user.id} for update`,
    );
    await killedWhileWaiting(lock, (base) =>
      keyedPost(base, "/api/v1/payments/process", buyer.token, key, { orderId: order.id }),
    );

    const retry = await t.post(
      "/api/v1/payments/process",
      { orderId: order.id },
      { token: buyer.token, headers: { "Idempotency-Key": key } },
    );
    expect(retry.status).toBe(200);
    expect(retry.body.status).toBe("COMPLETED");
    const made = await t.container.database.db
      .select({ n: count() })
      .from(payments)
      .where(eq(payments.orderId, order.id));
    expect(made[0]?.n).toBe(1);
    expect((await t.get(`/api/v1/balances/${buyer.user.id}`, buyer)).body.balance).toBe(30_000);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });
});

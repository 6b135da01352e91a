import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { createTestApp, hasPostgres, type TestApp } from "../support/harness";
import { createProductVia } from "../support/products";
import { holdRowLock } from "../support/row-locks";

// A keyed order (POST /api/v1/orders, idempotentInWorkStatements): its key's look rides on its products read, its
// answer on its order's statement. Edges where the answer is decided by something else than the request itself:
// another request holding the key's lock, and the time limit answering first.
const url = globalThis.kicksTest.services.databaseUrl as string;

describe.skipIf(!hasPostgres)("a keyed order at the edges of its key's transaction", () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  /** An app of the test's own (closed after the file), a buyer, a seller's shoe and a keyed order of one pair. */
  async function keyedOrderOfOne(options?: Parameters<typeof createTestApp>[0]) {
    const t = await createTestApp(options);
    apps.push(t);
    const seller = await t.registerUser("SELLER");
    const { user, token } = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 5 });
    const key = crypto.randomUUID();
    const body = { userId: user.id, items: [{ productId: shoe.id, quantity: 1 }] };
    return { t, user, token, shoe, key, body, headers: { "Idempotency-Key": key } };
  }

  /** The key's advisory lock (as `tryKeyLock` hashes it) held by a session of the test's own until released. */
  const holdKeyLock = (userId: string, key: string) =>
    holdRowLock(
      url,
      (s) =>
        s`select pg_advisory_xact_lock(hashtextextended(${userId}::text || E'\n' || 'POST' || E'\n' || '/api/v1/orders' || E'\n' || ${key}::text, 0))`,
    );

  // The key's answer is committed: whoever holds its lock now (another retry of the same request, replaying it in
  // its own transaction) cannot change it (a live answered row is never written over). The contract's 409 is for
  // a request still in flight; this one is done, so a retry gets the stored answer, not IDEMPOTENCY_KEY_IN_USE.
  it("replays a committed answer while another retry with the key holds its lock", async () => {
    const { t, user, token, shoe, key, body, headers } = await keyedOrderOfOne();
    const placed = await t.post("/api/v1/orders", body, { token, headers });
    expect(placed.status).toBe(201);

    const other = await holdKeyLock(user.id, key);
    try {
      const retry = await t.post("/api/v1/orders", body, { token, headers });
      expect(retry.status).toBe(201);
      expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
      expect(retry.body).toEqual(placed.body);
      // Another body is refused for what the committed row says, the lock notwithstanding.
      const reused = await t.post(
        "/api/v1/orders",
        { ...body, items: [{ productId: shoe.id, quantity: 2 }] },
        { token, headers },
      );
      expect(reused.status).toBe(422);
      expect(reused.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    } finally {
      await other.end();
    }
    expect((await t.get(`/api/v1/products/${shoe.id}`)).body).toMatchObject({ stock: 4, reservedStock: 1 });
  });

  it("still answers 409 while the lock is held and nothing is committed for the key", async () => {
    const { t, user, token, shoe, key, body, headers } = await keyedOrderOfOne();
    const other = await holdKeyLock(user.id, key);
    try {
      const res = await t.post("/api/v1/orders", body, { token, headers });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe("IDEMPOTENCY_KEY_IN_USE");
    } finally {
      await other.end();
    }
    expect((await t.get(`/api/v1/products/${shoe.id}`)).body).toMatchObject({ stock: 5, reservedStock: 0 });
  });

  // The time limit answers 503 with Retry-After while the order's statement waits for its hot product's row (a
  // drop). The work goes on: its statement then stores the 201 ahead, but the client was told to retry, so the
  // whole unit rolls back and the key is free, as for any keyed request the time limit cut off. That is the
  // design, not a fault: it must not be logged as an internal error ("answered otherwise than stored ahead"),
  // which on a drop would page someone for every buyer the time limit answered.
  it("rolls back quietly when the time limit answered first (503 Retry-After): no order, no key, no error logged", async () => {
    const logs: Record<string, any>[] = [];
    const { t, user, token, shoe, body, headers } = await keyedOrderOfOne({
      // Long enough for sign-up's password hash on a loaded machine (500 ms answered its sign-up 503 in CI).
      env: { REQUEST_TIMEOUT_MS: "3000", PAYMENT_GATEWAY_TIMEOUT_MS: "100", LOG_LEVEL: "warn" },
      logs,
    });

    // The request's keyed unit of work, settled (committed or rolled back, its answer decided) however it ended.
    const { idempotency } = t.container.services;
    const runKeyed = idempotency.runKeyed.bind(idempotency);
    let settled: Promise<unknown> | undefined;
    idempotency.runKeyed = (...args) => {
      const running = runKeyed(...args);
      settled = running.catch(() => {});
      return running;
    };
    const lock = await holdRowLock(url, (s) => s`select 1 from products where id = ${shoe.id} for update`);
    let cut: Awaited<ReturnType<typeof t.post>>;
    try {
      cut = await t.post("/api/v1/orders", body, { token, headers });
    } finally {
      await lock.end();
    }
    expect(cut.status).toBe(503);
    expect(cut.headers.get("Retry-After")).not.toBeNull();
    // The abandoned work goes on once its statement has the row; what follows its end is microtasks (onError).
    await settled;
    idempotency.runKeyed = runKeyed;
    await Bun.sleep(0);

    const orders = await t.container.database.db.execute(sql`select id from orders where user_id = ${user.id}`);
    expect(rowsOf(orders)).toEqual([]);
    expect((await t.get(`/api/v1/products/${shoe.id}`)).body).toMatchObject({ stock: 5, reservedStock: 0 });
    expect(logs.filter((line) => line.level >= 50 || line.level === "error")).toEqual([]);
    const retry = await t.post("/api/v1/orders", body, { token, headers });
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();
  });
});

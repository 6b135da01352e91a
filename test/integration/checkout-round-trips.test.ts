import { afterAll, describe, expect, it } from "bun:test";
import { Socket } from "node:net";
import { sql } from "drizzle-orm";
import Redis from "ioredis";
import type { Sql } from "postgres";
import { openDatabase, rowsOf } from "../../src/infra/db/client";
import { createTestApp, hasPostgres, hasRedis, type TestApp } from "../support/harness";
import { createProductVia } from "../support/products";

// What one checkout (an order, then its payment, each POST with an Idempotency-Key, as the bench and a careful
// client send them) costs the database: every statement postgres.js sends (BEGIN, savepoints and COMMIT
// included) and every COMMIT. Each commit waits for a WAL flush and each statement for a round trip, so these
// counts are the checkout's floor under load (docs/checkout-performance.md). The bounds are the figures
// measured after the round-trip work; a change that adds a statement or a commit to the money path fails here.
// The Idempotency-Key costs no commit of its own: an order's key is locked, read and stored with its answer in
// the order's transaction (one commit); a payment's is claimed in its first transaction, and a COMPLETED
// payment is its own stored answer (two commits).
// 9 until the order's ORDER_CREATED rode on its reservation (outbox events carried by the level's next write), 8
// until the order was placed in one statement with its reservation (no SAVEPOINT, no separate reservation; its
// ORDER_CREATED rides on the key's answer now), 6 until the key's lock and row were read by the order's products
// read (one statement), 5 until its answer was stored by the order's statement (the product's lock then the last
// statement before COMMIT).
const MAX_ORDER_STATEMENTS = 4;
const MAX_ORDER_COMMITS = 1;
// 17 after the round-trip work, + 1: a keyed payment first looks for the payment its key already made (a retry
// whose stored answer was lost answers from it). The key's read before the handler took the place of its claim.
// 18 until PAYMENT_COMPLETED rode on the sale of the units (outbox events carried by the level's next write), 17
// until the completion confirmed the order in the statement that moves the payment to COMPLETED, 16 until the
// payment's steps before the gateway (create, hold, debit, move) were one statement, 13 until the order and the
// payment the key made were read in one statement, 12 until the key's claim rode on that one statement, 11 until the
// completion (COMPLETED, the order confirmed, the units sold, PAYMENT_COMPLETED, the sales rollup) was one statement
// and it and the start (each the whole of its transaction) went without BEGIN and COMMIT, 4 until the key's row was
// read by the payment's first read: the order, the key's payment and the key's row; the start; the completion.
const MAX_PAYMENT_STATEMENTS = 3;
const MAX_PAYMENT_COMMITS = 2;
// Round trips (writes to the database's sockets, the statements going one at a time) since every statement of the
// path is built once: postgres.js sends a statement not prepared on its connection, with parameters, in two
// (Parse/Describe, then Bind/Execute once the parameter types are back), a prepared one in one. 15 for the order
// and 31 for the payment before; 11 and 20 while the Idempotency-Key's statements were still on the builder; 8 for
// the order before it was placed in one statement, 6 before its key's look rode on its products read, 5 before its
// answer rode on the order's statement; 11 for the payment before its start and completion went without BEGIN and
// COMMIT, 4 before its key's row rode on its first read.
const MAX_ORDER_ROUND_TRIPS = 4;
const MAX_PAYMENT_ROUND_TRIPS = 3;
// An order without a key: BEGIN · its products (with the database's time) · the order placed with its reservation
// and its ORDER_CREATED · COMMIT. 5 until ORDER_CREATED was written by the order's statement (it was a statement of
// its own before COMMIT, the hot product's row held one round trip longer).
const MAX_UNKEYED_ORDER_STATEMENTS = 4;

// What one checkout asks of Redis, each command a round trip (ioredis' own count, every connection of the
// process). The changed product's cache entry becomes a tombstone and the other instances hear of it, in one
// script per POST (put-if-newer.lua publishes the announcement); nothing else on the checkout path uses Redis.
// The near cache's heartbeat PING (once a second per process, not per request) is not counted.
const MAX_ORDER_REDIS_COMMANDS = 1;
const MAX_PAYMENT_REDIS_COMMANDS = 1;

interface Tally {
  statements: string[];
  commits: number;
  roundTrips: number;
  redis: string[];
}

let redisSent: string[] | undefined;
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, ...args: Parameters<Redis["sendCommand"]>) {
  const [command] = args;
  if (redisSent && command.name !== "ping") redisSent.push(`${command.name} ${command.args.slice(0, 2).join(" ")}`);
  return sendCommand.apply(this, args);
};

/** Whether a statement sent outside a transaction writes (it then commits on its own). */
const writes = (query: string) => !/^\s*select\b/i.test(query);

describe.skipIf(!hasPostgres)("the round trips of one checkout", () => {
  let sent: { connection: number; query: string }[] = [];
  const database = openDatabase({ url: globalThis.kicksTest.services.databaseUrl, poolSize: 10 });
  // postgres.js reads its options' debug hook at every statement it sends, so setting it here counts them all.
  const client = (database.db as unknown as { $client: Sql }).$client;
  (client.options as { debug: unknown }).debug = (connection: number, query: string) =>
    void sent.push({ connection, query: query.trim() });
  let t: TestApp;
  let socketWrites = 0;
  const databasePort = Number(new URL(globalThis.kicksTest.services.databaseUrl ?? "postgres://x").port || 5432);
  const write = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === databasePort) socketWrites++;
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof write;

  afterAll(async () => {
    Socket.prototype.write = write;
    await t?.close();
    await database.close();
  });

  async function tally(work: () => Promise<unknown>): Promise<Tally> {
    sent = [];
    socketWrites = 0;
    redisSent = [];
    await work();
    const log = sent;
    const roundTrips = socketWrites;
    const redis = redisSent;
    sent = [];
    redisSent = undefined;
    // A COMMIT ends a transaction; a writing statement outside one commits by itself (each waits for a flush).
    const open = new Set<number>();
    let commits = 0;
    for (const { connection, query } of log) {
      if (/^begin\b/i.test(query)) open.add(connection);
      else if (/^(commit|rollback)$/i.test(query)) {
        if (/^commit/i.test(query)) commits++;
        open.delete(connection);
      } else if (!open.has(connection) && writes(query)) commits++;
    }
    return { statements: log.map(({ connection, query }) => `[${connection}] ${query}`), commits, roundTrips, redis };
  }

  async function checkout() {
    t ??= await createTestApp({ database });
    const seller = await t.registerUser("SELLER");
    const buyer = await t.registerUser("BUYER");
    await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 100_000 }, buyer);
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 5 });
    let orderId = "";
    const order = await tally(async () => {
      const res = await t.post(
        "/api/v1/orders",
        { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] },
        { token: buyer.token, headers: { "Idempotency-Key": crypto.randomUUID() } },
      );
      expect(res.status).toBe(201);
      orderId = res.body.id;
    });
    const payment = await tally(async () => {
      const res = await t.post(
        "/api/v1/payments/process",
        { orderId },
        { token: buyer.token, headers: { "Idempotency-Key": crypto.randomUUID() } },
      );
      expect(res.status).toBe(200);
      expect(res.body.status).toBe("COMPLETED");
    });
    return { order, payment };
  }

  it("places an order in at most the measured statements and commits", async () => {
    const { order } = await checkout();
    const figures = { statements: order.statements.length, commits: order.commits };
    expect(figures, order.statements.join("\n")).toEqual({
      statements: Math.min(figures.statements, MAX_ORDER_STATEMENTS),
      commits: Math.min(figures.commits, MAX_ORDER_COMMITS),
    });
    // The hot product's row is locked by the last statement before COMMIT (the key's answer rides on it).
    expect(order.statements.at(-2)).toContain("for update");
    expect(order.statements.at(-2)).toContain("key_answered");
  });

  it("places an order without a key with its ORDER_CREATED in the order's statement, the product's lock last", async () => {
    t ??= await createTestApp({ database });
    const seller = await t.registerUser("SELLER");
    const buyer = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 5 });
    // The buyer's first request reads its token's user: not the order's (checkout() warms it with a charge).
    await t.get(`/api/v1/balances/${buyer.user.id}`, { token: buyer.token });
    let body: Record<string, unknown> = {};
    const order = await tally(async () => {
      const res = await t.post(
        "/api/v1/orders",
        { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] },
        { token: buyer.token },
      );
      expect(res.status).toBe(201);
      body = res.body;
    });
    expect(order.statements.length, order.statements.join("\n")).toBeLessThanOrEqual(MAX_UNKEYED_ORDER_STATEMENTS);
    expect(order.commits).toBe(1);
    // The statement that locks the product is the last before COMMIT.
    expect(order.statements.at(-2)).toContain("for update");
    const events = await database.db.execute(
      sql`select type, payload from order_events where aggregate_id = ${body.id as string}`,
    );
    expect(rowsOf(events)).toEqual([{ type: "ORDER_CREATED", payload: body }]);
  });

  it("pays for it in at most the measured statements and commits", async () => {
    const { payment } = await checkout();
    const figures = { statements: payment.statements.length, commits: payment.commits };
    expect(figures, payment.statements.join("\n")).toEqual({
      statements: Math.min(figures.statements, MAX_PAYMENT_STATEMENTS),
      commits: Math.min(figures.commits, MAX_PAYMENT_COMMITS),
    });
  });

  it("sends the checkout's statements prepared: one round trip each", async () => {
    const { order, payment } = await checkout();
    expect({ order: order.roundTrips, payment: payment.roundTrips }).toEqual({
      order: Math.min(order.roundTrips, MAX_ORDER_ROUND_TRIPS),
      payment: Math.min(payment.roundTrips, MAX_PAYMENT_ROUND_TRIPS),
    });
  });

  it.skipIf(!hasRedis)("asks Redis at most the measured number of commands per POST", async () => {
    const { order, payment } = await checkout();
    expect(order.redis.length, order.redis.join("\n")).toBeLessThanOrEqual(MAX_ORDER_REDIS_COMMANDS);
    expect(payment.redis.length, payment.redis.join("\n")).toBeLessThanOrEqual(MAX_PAYMENT_REDIS_COMMANDS);
  });

  it("reports the figures of a whole checkout", async () => {
    const { order, payment } = await checkout();
    const total = {
      statements: order.statements.length + payment.statements.length,
      commits: order.commits + payment.commits,
    };
    console.log(
      `checkout: order ${order.statements.length} statements / ${order.commits} commits / ${order.roundTrips} round trips, ` +
        `payment ${payment.statements.length} / ${payment.commits} / ${payment.roundTrips}, ` +
        `total ${total.statements} / ${total.commits} / ${order.roundTrips + payment.roundTrips}; ` +
        `Redis commands: order ${order.redis.length}, payment ${payment.redis.length}`,
    );
    expect(total.statements).toBeLessThanOrEqual(MAX_ORDER_STATEMENTS + MAX_PAYMENT_STATEMENTS);
    expect(total.commits).toBeLessThanOrEqual(MAX_ORDER_COMMITS + MAX_PAYMENT_COMMITS);
  });
});

// `bun run bench:cpu`: the server's CPU time and the statements it sends per checkout (POST /orders, then POST
// /payments/process, each with an Idempotency-Key), measured in-process: the app is driven through `app.fetch`
// (no sockets, no HTTP parsing) one checkout at a time, so the figure is the server's own work per checkout and
// holds on a busy machine (CPU time, not throughput: a shared machine's noise stays out of it).
//
// Needs DATABASE_URL and REDIS_URL (a throwaway database `kicks_cpu_<random>` is made on that server and dropped
// at the end; the Redis keys live under a prefix of their own and are deleted too).
//
// Environment:
//   BENCH_CPU_CHECKOUTS (2000)  measured checkouts
//   BENCH_CPU_WARMUP (300)      unmeasured checkouts before (JIT, connection pool, prepared statements)
//   BENCH_CPU_PRODUCTS (100)    products the checkouts go round (a buyer's sequential checkouts never contend)
//   BENCH_CPU_BUYERS (1)        buyers checking out at once, each one checkout after another (above 1, the CPU
//                               per checkout includes what running side by side costs: PostgreSQL's lock manager,
//                               WAL insertion, more wake-ups)
//   BENCH_CPU_LOG_STATEMENTS    set to 1: the throwaway database logs every statement's duration (ALTER DATABASE
//                               ... SET log_min_duration_statement = 0, that database only) to PostgreSQL's log
//   BENCH_CPU_AFTER_MIGRATE     SQL run on the throwaway database after its migrations, for experiments (e.g.
//                               `drop index products_popular` to see what an index costs a checkout)
//   BENCH_CPU_HOT_PRODUCT       set to 1: every checkout buys the first product (the drop's hot row, on a page
//                               shared with the rest of the catalogue), the other products only fill the table
//
// Printed: CPU µs per checkout (process.cpuUsage, user + system, every thread of the process: the app and the
// few requests this script builds), statements per checkout (every statement postgres.js sends, BEGIN, SAVEPOINT
// and COMMIT included, counted as the Execute and Query messages written to its sockets), writes to PostgreSQL
// sockets per checkout (round trips, as the statements go one at a time), PostgreSQL's CPU per checkout (the
// utime + stime, /proc/<pid>/stat, of the backends serving the throwaway database: only when PostgreSQL runs on this
// machine; the relay's backend included, PostgreSQL's background processes apart), how often each prepared statement
// was planned afresh (pg_prepared_statements' custom_plans vs generic_plans), the row updates per checkout of each
// table and the share of them that were HOT (pg_stat_user_tables: a heap-only update writes no index entry) and
// wall time per checkout (informational only).
import { Socket } from "node:net";
import type postgres from "postgres";
import { createApp } from "../src/app";
import { buildContainer } from "../src/container";
import { loadConfig } from "../src/infra/config";
import { openDatabase } from "../src/infra/db/client";
import { createLogger } from "../src/infra/logger";
import { envInt } from "./config";
import { deleteRedisKeys, runAdminStatement, withDatabase } from "./environment";
import { postgresCpu, postgresCpuSpent } from "./postgres-cpu";

const CHECKOUTS = envInt("BENCH_CPU_CHECKOUTS", 2000, 1, 1_000_000);
const WARMUP = envInt("BENCH_CPU_WARMUP", 300, 0, 1_000_000);
const PRODUCTS = envInt("BENCH_CPU_PRODUCTS", 100, 1, 10_000);
const BUYERS = envInt("BENCH_CPU_BUYERS", 1, 1, 64);
const PRICE = 1_000;
const LOG_STATEMENTS = process.env.BENCH_CPU_LOG_STATEMENTS === "1";
const HOT_PRODUCT = process.env.BENCH_CPU_HOT_PRODUCT === "1";

const adminUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
if (!adminUrl || !redisUrl) {
  console.error("bench:cpu needs DATABASE_URL and REDIS_URL");
  process.exit(2);
}

const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const databaseName = `kicks_cpu_${runId}`;
const redisKeyPrefix = `kicks_cpu_${runId}:`;
const databaseUrl = withDatabase(adminUrl, databaseName);
const admin = (statement: string) => runAdminStatement(adminUrl as string, statement);

await admin(`create database ${databaseName}`);
if (LOG_STATEMENTS) await admin(`alter database ${databaseName} set log_min_duration_statement = 0`);
try {
  await measure();
} finally {
  await admin(`drop database if exists ${databaseName} with (force)`);
  await deleteRedisKeys(redisUrl as string, redisKeyPrefix);
}

async function measure() {
  const database = openDatabase({ url: databaseUrl, poolSize: 10 });
  await database.migrate();
  const experiment = process.env.BENCH_CPU_AFTER_MIGRATE;
  if (experiment) await runAdminStatement(databaseUrl, experiment);
  // Statements are counted in what goes to PostgreSQL's sockets (an Execute or a simple Query message each), not
  // with postgres.js' debug hook: with a hook set, postgres.js creates an Error (for its stack) for every statement
  // sent in a transaction, CPU the server does not spend in production.
  let statements = 0;
  // Every write postgres.js makes to a PostgreSQL socket: one per round trip when statements go one at a time (an
  // unprepared statement with parameters takes two: Parse/Describe, then Bind/Execute once the types are back).
  let writes = 0;
  const port = Number(new URL(databaseUrl).port || 5432);
  const write = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === port) {
      writes++;
      statements += statementsIn(args[0]);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof write;

  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: redisKeyPrefix,
    JWT_SECRET: "bench-cpu-secret-that-is-at-least-32-characters",
    DATABASE_POOL_SIZE: "10",
    LOG_LEVEL: "silent",
  });
  const container = buildContainer(config, createLogger("silent"), { database });
  const app = createApp(container);

  const call = async (method: string, path: string, body?: unknown, token?: string, key?: string) => {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (key) headers["Idempotency-Key"] = key;
    const res = await app.fetch(
      new Request(`http://kicks.local${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
    return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, any> };
  };
  const account = async (role: "BUYER" | "SELLER", index = 0) => {
    const email = `${role.toLowerCase()}-${index}-${runId}@bench.kicks`;
    const password = "bench-password-1";
    const signup = await call("POST", "/api/v1/auth/signup", {
      email,
      password,
      name: `Bench ${role}`,
      role,
      ...(role === "SELLER" ? { businessRegistrationNumber: "124-81-00998" } : {}),
    });
    if (signup.status !== 201) throw new Error(`signup: ${signup.status} ${JSON.stringify(signup.body)}`);
    const login = await call("POST", "/api/v1/auth/login", { email, password });
    return { userId: login.body.user.id as string, token: login.body.accessToken as string };
  };

  const seller = await account("SELLER");
  const buyers: Awaited<ReturnType<typeof account>>[] = [];
  for (let i = 0; i < BUYERS; i++) buyers.push(await account("BUYER", i));
  const products: string[] = [];
  for (let i = 0; i < PRODUCTS; i++) {
    const res = await call(
      "POST",
      "/api/v1/products",
      { name: `Bench Sneaker ${i}`, brand: "Bench", category: "bench", price: PRICE, stock: 100_000 },
      seller.token,
    );
    if (res.status !== 201) throw new Error(`product: ${res.status} ${JSON.stringify(res.body)}`);
    products.push(res.body.id);
  }
  const needed = Math.ceil((WARMUP + CHECKOUTS) / BUYERS + 1) * PRICE;
  for (const buyer of buyers) {
    for (let charged = 0; charged < needed; charged += 1_000_000) {
      const res = await call(
        "POST",
        "/api/v1/balances/charge",
        { userId: buyer.userId, amount: 1_000_000 },
        buyer.token,
      );
      if (res.status !== 200) throw new Error(`charge: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }

  let n = 0;
  const checkout = async (buyer: (typeof buyers)[number]) => {
    const productId = (HOT_PRODUCT ? products[0] : products[n++ % products.length]) as string;
    const order = await call(
      "POST",
      "/api/v1/orders",
      { userId: buyer.userId, items: [{ productId, quantity: 1 }] },
      buyer.token,
      crypto.randomUUID(),
    );
    if (order.status !== 201) throw new Error(`order: ${order.status} ${JSON.stringify(order.body)}`);
    const payment = await call(
      "POST",
      "/api/v1/payments/process",
      { orderId: order.body.id },
      buyer.token,
      crypto.randomUUID(),
    );
    if (payment.status !== 200 || payment.body.status !== "COMPLETED") {
      throw new Error(`payment: ${payment.status} ${JSON.stringify(payment.body)}`);
    }
  };

  // Every buyer one checkout after another, all buyers at once: `count` checkouts in all.
  const checkouts = (count: number) =>
    Promise.all(
      buyers.map(async (buyer, k) => {
        for (let i = k; i < count; i += BUYERS) await checkout(buyer);
      }),
    );
  await checkouts(WARMUP);
  const client = (database.db as unknown as { $client: postgres.Sql }).$client;
  const updatesBefore = await tableUpdates(client);
  Bun.gc(true);
  statements = 0;
  writes = 0;
  const startedPg = await postgresCpu(adminUrl as string, databaseName);
  const startedCpu = process.cpuUsage();
  const startedAt = performance.now();
  await checkouts(CHECKOUTS);
  const wallMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(startedCpu);
  const sent = statements;
  const sentWrites = writes;
  const endedPg = await postgresCpu(adminUrl as string, databaseName);
  const plans = await planCounts(client);
  const updatesAfter = await tableUpdates(client);

  await container.close();
  await database.close().catch(() => {});

  const cpuUs = (cpu.user + cpu.system) / CHECKOUTS;
  console.log(
    `checkouts ${CHECKOUTS} (after ${WARMUP} warm-up) ${HOT_PRODUCT ? `of one product (of ${PRODUCTS})` : `over ${PRODUCTS} products`}, ${BUYERS === 1 ? "one buyer, sequential" : `${BUYERS} buyers at once, each sequential`}, through app.fetch`,
  );
  console.log(
    `server CPU per checkout: ${cpuUs.toFixed(0)} µs (user ${(cpu.user / CHECKOUTS).toFixed(0)}, system ${(cpu.system / CHECKOUTS).toFixed(0)})`,
  );
  console.log(`statements per checkout: ${(sent / CHECKOUTS).toFixed(2)}`);
  console.log(`writes to PostgreSQL sockets per checkout (≈ round trips): ${(sentWrites / CHECKOUTS).toFixed(2)}`);
  console.log(`wall time per checkout: ${((wallMs * 1000) / CHECKOUTS).toFixed(0)} µs (informational)`);
  if (startedPg && endedPg) {
    const { backends, background } = postgresCpuSpent(startedPg, endedPg);
    const perCheckout = (us: number) => (us / CHECKOUTS).toFixed(0);
    console.log(
      `PostgreSQL CPU per checkout: ${perCheckout(backends.user + backends.system)} µs (user ${perCheckout(backends.user)}, system ${perCheckout(backends.system)}) in the ${endedPg.backends.size} backends of this database; + ${perCheckout(background.user + background.system)} µs in PostgreSQL's background processes (shared with any other work on the server)`,
    );
  } else {
    console.log("PostgreSQL CPU per checkout: n/a (PostgreSQL's processes are not readable from here)");
  }
  console.log(
    "row updates per checkout by table (pg_stat_user_tables): updates, of them HOT (heap-only: no index entry written), fillfactor",
  );
  for (const [table, after] of updatesAfter) {
    const before = updatesBefore.get(table);
    const updates = after.updates - (before?.updates ?? 0);
    if (updates === 0) continue;
    const hot = after.hot - (before?.hot ?? 0);
    console.log(
      `  ${table}: ${(updates / CHECKOUTS).toFixed(2)}, HOT ${((100 * hot) / updates).toFixed(0)}%, fillfactor ${after.fillfactor}`,
    );
  }
  if (plans.length > 0) {
    console.log("prepared statements of the pool (summed over its connections): custom plans / generic plans");
    for (const plan of plans) console.log(`  ${plan.name}: ${plan.custom} / ${plan.generic}`);
  }
}

/**
 * How often PostgreSQL planned each of this database's prepared statements afresh (custom plans) or reused its
 * generic plan, from pg_prepared_statements on every connection of the database (a backend only shows its own).
 */
async function planCounts(client: postgres.Sql) {
  // As many at once as the pool has connections (each sleeps a little), so each lands on a connection of its own.
  type PlanRow = { pid: number; statement: string; generic_plans: string; custom_plans: string };
  const answers = await Promise.all(
    Array.from(
      { length: 10 },
      () => client<PlanRow[]>`select pg_backend_pid() as pid, statement, generic_plans, custom_plans
        from pg_prepared_statements, pg_sleep(0.2)`,
    ),
  );
  const seen = new Set<number>();
  const byName = new Map<string, { name: string; custom: number; generic: number }>();
  for (const rows of answers) {
    const pid = rows[0]?.pid;
    if (pid === undefined || seen.has(pid)) continue;
    seen.add(pid);
    for (const row of rows) {
      const name = row.statement.replace(/\s+/g, " ").slice(0, 100);
      const plan = byName.get(name) ?? { name, custom: 0, generic: 0 };
      plan.custom += Number(row.custom_plans);
      plan.generic += Number(row.generic_plans);
      byName.set(name, plan);
    }
  }
  return [...byName.values()].sort((a, b) => b.custom + b.generic - (a.custom + a.generic));
}

/**
 * Row updates and HOT updates so far per table of the database (pg_stat_user_tables), and each table's fillfactor.
 * A backend reports its counts to the shared statistics at most once a second, and later still when idle, so every
 * connection of the pool is first asked to report them (pg_stat_force_next_flush: reported as its statement ends).
 */
async function tableUpdates(client: postgres.Sql) {
  await Promise.all(Array.from({ length: 10 }, () => client`select pg_stat_force_next_flush(), pg_sleep(0.2)`));
  await Bun.sleep(200);
  type UpdateRow = { table: string; updates: string; hot: string; fillfactor: string | null };
  const rows = await client<UpdateRow[]>`
    select s.relname as table, n_tup_upd as updates, n_tup_hot_upd as hot,
      (select option_value from pg_options_to_table(c.reloptions) where option_name = 'fillfactor') as fillfactor
    from pg_stat_user_tables s join pg_class c on c.oid = s.relid
    order by s.relname`;
  return new Map(
    rows.map((row) => [
      row.table,
      { updates: Number(row.updates), hot: Number(row.hot), fillfactor: row.fillfactor ?? "100" },
    ]),
  );
}

/**
 * The statements in one write to PostgreSQL: its Execute ('E') and simple Query ('Q') messages. Every message is a
 * type byte and a length; the start-up, SSL and cancel requests have no type byte (they begin with the length's
 * high byte, 0) and are skipped.
 */
function statementsIn(chunk: unknown): number {
  if (!(chunk instanceof Uint8Array)) return 0;
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  let count = 0;
  for (let at = 0; at + 4 < chunk.byteLength; ) {
    const type = chunk[at] as number;
    if (type === 0) {
      at += view.getInt32(at);
      continue;
    }
    if (type === 0x45 || type === 0x51) count++;
    at += 1 + view.getInt32(at + 1);
  }
  return count;
}

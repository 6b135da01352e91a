// Orders and checkout (issues 8, 9 and 18): orders placed per second by CONNECTIONS buyers in parallel, (a) all on
// one hot product with deep stock, (b) spread over ORDER_PRODUCTS products, then checkouts per second (the order,
// then POST /payments/process for it), (c) on the hot product and (d) spread; each as a ratio against pgbench's
// TPC-B-like transactions per second on the same PostgreSQL in the same run with as many clients: the hot
// scenarios against scale 1 (one branch row every transaction updates, as every buyer of a drop updates one
// product row), the spread ones against scale BENCH_PGBENCH_SCALE. The same again with SMALL_BUYERS buyers
// against pgbench with as many clients. Then the books: every answer the driver saw is in the database exactly
// once, and the invariant checker (src/infra/db/invariants.ts) finds nothing.
//
// Needs DATABASE_URL (the bench reads and writes Kicks' database from this process; embedded mode cannot).
// Buyers are inserted straight into the run's throwaway database and their tokens signed with the run's
// JWT_SECRET (signing up 64 buyers is seconds of argon2 that measures nothing); their balances are charged
// through the API before timing starts; the products are created through the API by the run's admin.
// Every POST carries an Idempotency-Key, as a client retrying safely would send it.
import postgres from "postgres";
import { JwtAccessTokens } from "../src/infra/auth/access-tokens";
import { openDatabase } from "../src/infra/db/client";
import { checkInvariants } from "../src/infra/db/invariants";
import type { Invariant } from "./checks";
import { CONNECTIONS, envInt, SECONDS, WARMUP_SECONDS } from "./config";
import type { BenchEnvironment } from "./environment";
import { type DriverReport, drive, type IterationOutcome } from "./load-driver";
import { PGBENCH_SCALE, type PgbenchResult, type PgbenchShape, runPgbench } from "./pgbench";
import { postgresCpu } from "./postgres-cpu";

export const ORDER_PRODUCTS = envInt("BENCH_ORDER_PRODUCTS", 1000, 1, 100_000);
/** The second, smaller crowd (issue 18: 16 buyers against pgbench -c 16); 0 or CONNECTIONS runs only the first. */
export const SMALL_BUYERS = envInt("BENCH_SMALL_BUYERS", 16, 0, 10_000);
const PRICE = 1_000;
const HOT_STOCK = 1_000_000;
const SPREAD_STOCK = 100_000;
/** Each buyer's balance: MAX_CHARGE, enough for 10,000 checkouts at PRICE. */
const BUYER_BALANCE = 10_000_000;

export type OrderModule = "orders" | "checkout";

export interface OrderScenarioResult {
  name: string;
  /** What it measures, for the targets: orders or checkouts, on the hot product or spread. */
  kind: { flow: OrderModule; hot: boolean };
  buyers: number;
  report: DriverReport;
  /** The pgbench run it is compared with (same clients; scale 1 when hot). */
  ceiling?: PgbenchResult;
  ratioVsPgbench?: number;
}

export interface OrderBenchResult {
  pgbench: PgbenchResult[];
  scenarios: OrderScenarioResult[];
  invariants: Invariant[];
}

interface Buyer {
  userId: string;
  token: string;
}

async function call(base: string, method: string, path: string, body: unknown, token: string, key?: string) {
  const headers: Record<string, string> = { "Content-Type": "application/json", Authorization: `Bearer ${token}` };
  if (key) headers["Idempotency-Key"] = key;
  const res = await fetch(base + path, {
    method,
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, text: await res.text() };
}

async function expectOk(res: Promise<{ status: number; text: string }>, status: number, what: string) {
  const answer = await res;
  if (answer.status !== status) throw new Error(`${what}: ${answer.status} ${answer.text.slice(0, 300)}`);
  return JSON.parse(answer.text);
}

/** Runs `task` over `items` with at most `width` in flight. */
async function inParallel<T, R>(items: T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i] as T);
      }
    }),
  );
  return results;
}

async function insertBuyers(databaseUrl: string, jwtSecret: string, runId: string): Promise<Buyer[]> {
  const ids = Array.from({ length: CONNECTIONS }, () => Bun.randomUUIDv7());
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`
      insert into users ${sql(
        ids.map((id, n) => ({
          id,
          email: `order-buyer-${runId}-${n}@bench.kicks`,
          password_hash: "not-a-hash",
          name: `Order buyer ${n}`,
          role: "BUYER",
        })),
      )}`;
    // Sign-up opens each user's balance at 0 (version 0, no ledger row); so does this.
    await sql`insert into balances ${sql(ids.map((user_id) => ({ user_id })))}`;
  } finally {
    await sql.end({ timeout: 5 });
  }
  const tokens = new JwtAccessTokens(jwtSecret, 3600);
  return Promise.all(
    ids.map(async (userId) => ({ userId, token: (await tokens.issue({ userId, role: "BUYER" })).accessToken })),
  );
}

/** What the database holds for the bench's buyers: orders, and COMPLETED payments. */
async function countsOf(databaseUrl: string, buyers: Buyer[]) {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const ids = buyers.map((b) => b.userId);
    const [orders] = await sql<{ n: string }[]>`select count(*) as n from orders where user_id = any(${ids}::uuid[])`;
    const [paid] = await sql<{ n: string }[]>`
      select count(*) as n from payments where user_id = any(${ids}::uuid[]) and status = 'COMPLETED'`;
    return { orders: Number(orders?.n), paid: Number(paid?.n) };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export interface OrderBenchRun {
  kicksUrl: string;
  kicksPid: number;
  env: BenchEnvironment;
  runId: string;
  admin: { email: string; password: string };
  modules: OrderModule[];
}

export async function runOrderBench(run: OrderBenchRun): Promise<OrderBenchResult | undefined> {
  const { kicksUrl, env, modules } = run;
  const adminUrl = process.env.DATABASE_URL;
  if (!env.databaseUrl || !adminUrl) {
    console.log(
      "\norders and checkout modules skipped: they need DATABASE_URL (pgbench needs a PostgreSQL server, and the checks read Kicks' database from this process)",
    );
    return undefined;
  }
  console.log();
  const widths = [CONNECTIONS, ...(SMALL_BUYERS > 0 && SMALL_BUYERS < CONNECTIONS ? [SMALL_BUYERS] : [])];
  const shapes: PgbenchShape[] = [1, PGBENCH_SCALE].flatMap((scale) => widths.map((clients) => ({ scale, clients })));
  const pgbench = await runPgbench(adminUrl, run.runId, shapes);
  const ceilingOf = (hot: boolean, clients: number) =>
    pgbench.find((r) => r.scale === (hot ? 1 : PGBENCH_SCALE) && r.clients === clients);

  const { accessToken: adminToken } = await expectOk(
    fetch(`${kicksUrl}/api/v1/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(run.admin),
    }).then(async (r) => ({ status: r.status, text: await r.text() })),
    200,
    "admin login",
  );
  const product = (name: string, stock: number) =>
    expectOk(
      call(
        kicksUrl,
        "POST",
        "/api/v1/products",
        { name, brand: "Benchbrand", category: "bench", price: PRICE, stock },
        adminToken,
      ),
      201,
      "create product",
    ).then((p: { id: string }) => p.id);
  const hot = await product(`Hot drop ${run.runId}`, HOT_STOCK);
  const spread = await inParallel(
    Array.from({ length: ORDER_PRODUCTS }, (_, n) => n),
    16,
    (n) => product(`Spread ${run.runId} #${n}`, SPREAD_STOCK),
  );
  const buyers = await insertBuyers(env.databaseUrl, env.jwtSecret, run.runId);
  if (modules.includes("checkout")) {
    await inParallel(buyers, 16, (buyer) =>
      expectOk(
        call(
          kicksUrl,
          "POST",
          "/api/v1/balances/charge",
          { userId: buyer.userId, amount: BUYER_BALANCE },
          buyer.token,
          crypto.randomUUID(),
        ),
        200,
        "charge buyer",
      ),
    );
  }
  console.log(
    `  ${buyers.length} buyers, 1 hot product (stock ${HOT_STOCK}), ${ORDER_PRODUCTS} spread products (stock ${SPREAD_STOCK} each), price ${PRICE} KRW`,
  );

  // Every 2xx the driver saw, warm-ups included, to compare with the database afterwards.
  let placed = 0;
  let paid = 0;
  const pick = () => spread[Math.floor(Math.random() * spread.length)] as string;
  const placeOrder = async (buyer: Buyer, productId: string) => {
    const res = await call(
      kicksUrl,
      "POST",
      "/api/v1/orders",
      { userId: buyer.userId, items: [{ productId, quantity: 1 }] },
      buyer.token,
      crypto.randomUUID(),
    );
    if (res.status === 201) placed++;
    return res;
  };
  const orderOn =
    (productOf: () => string) =>
    async (loop: number): Promise<IterationOutcome> => {
      const res = await placeOrder(buyers[loop] as Buyer, productOf());
      return { ok: res.status === 201, statuses: String(res.status) };
    };
  const checkoutOn =
    (productOf: () => string) =>
    async (loop: number): Promise<IterationOutcome> => {
      const buyer = buyers[loop] as Buyer;
      const order = await placeOrder(buyer, productOf());
      if (order.status !== 201) return { ok: false, statuses: String(order.status) };
      const { id } = JSON.parse(order.text) as { id: string };
      const payment = await call(
        kicksUrl,
        "POST",
        "/api/v1/payments/process",
        { orderId: id },
        buyer.token,
        crypto.randomUUID(),
      );
      const completed =
        payment.status === 200 && (JSON.parse(payment.text) as { status: string }).status === "COMPLETED";
      if (completed) paid++;
      return { ok: completed, statuses: `${order.status} ${payment.status}` };
    };

  const scenarios: OrderScenarioResult[] = [];
  const measure = async (
    name: string,
    kind: OrderScenarioResult["kind"],
    width: number,
    iterate: (loop: number) => Promise<IterationOutcome>,
  ) => {
    if (WARMUP_SECONDS > 0) await drive(width, WARMUP_SECONDS, iterate);
    process.stdout.write(`  ${name}, ${width} buyers ... `);
    const report = await drive(width, SECONDS, iterate, run.kicksPid, () =>
      postgresCpu(adminUrl, new URL(env.databaseUrl as string).pathname.slice(1)),
    );
    console.log(`${Math.round(report.okPerSecond)}/s`);
    const ceiling = ceilingOf(kind.hot, width);
    scenarios.push({
      name,
      kind,
      buyers: width,
      report,
      ceiling,
      ratioVsPgbench: ceiling && report.okPerSecond / ceiling.transactionsPerSecond,
    });
  };
  const spreadName = `spread over ${ORDER_PRODUCTS} products`;
  for (const width of widths) {
    if (modules.includes("orders")) {
      await measure(
        "orders, one hot product",
        { flow: "orders", hot: true },
        width,
        orderOn(() => hot),
      );
      await measure(`orders, ${spreadName}`, { flow: "orders", hot: false }, width, orderOn(pick));
    }
    if (modules.includes("checkout")) {
      await measure(
        "checkout (order + pay), one hot product",
        { flow: "checkout", hot: true },
        width,
        checkoutOn(() => hot),
      );
      await measure(`checkout (order + pay), ${spreadName}`, { flow: "checkout", hot: false }, width, checkoutOn(pick));
    }
  }

  const counts = await countsOf(env.databaseUrl, buyers);
  const database = openDatabase({ url: env.databaseUrl, poolSize: 1 });
  let violations: Awaited<ReturnType<typeof checkInvariants>>;
  try {
    violations = await checkInvariants(database.db);
  } finally {
    await database.close();
  }
  const unexpected = scenarios.flatMap((s) =>
    Object.entries(s.report.statuses)
      .filter(([status]) => status !== "201" && status !== "201 200")
      .map(([status, n]) => `${s.name} (${s.buyers} buyers): ${n} x ${status}`),
  );
  const failures = scenarios.flatMap((s) =>
    Object.entries(s.report.errors).map(([m, n]) => `${s.name} (${s.buyers} buyers): ${n} x ${m}`),
  );
  const invariants: Invariant[] = [
    {
      name: "orders: only 201 (and 200 COMPLETED payments) answered, no request failed",
      ok: unexpected.length === 0 && failures.length === 0,
      detail: unexpected.length + failures.length === 0 ? "none other" : [...unexpected, ...failures].join("; "),
    },
    {
      name: "orders: every 201 is one order in the database, nothing more",
      ok: counts.orders === placed,
      detail: `driver saw ${placed} x 201, the bench buyers have ${counts.orders} orders`,
    },
    {
      name: "checkout: every COMPLETED answer is one COMPLETED payment, nothing more",
      ok: counts.paid === paid,
      detail: `driver saw ${paid} COMPLETED payments, the database holds ${counts.paid}`,
    },
    {
      name: "invariants (src/infra/db/invariants.ts) hold on the whole database",
      ok: violations.length === 0,
      detail:
        violations.length === 0
          ? "stock, reservations, sales, coupons, balances vs ledger, payments, refunds, totals: no violation"
          : violations
              .slice(0, 10)
              .map((v) => `${v.rule}: ${v.detail}`)
              .join("; "),
    },
  ];
  return { pgbench, scenarios, invariants };
}

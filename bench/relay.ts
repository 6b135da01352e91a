// `bun run bench:relay`: what the outbox relay costs per delivered event, in CPU and in statements, while checkouts
// write events the way they do on a busy day. Needs PostgreSQL (DATABASE_URL, default the local server); it works
// in a database of its own (kicks_relay_bench), made and dropped by the run. Measure on a quiet machine: it reads
// CPU time, not throughput, but a busy machine still changes how many events each wake-up finds.
//
// For each publisher (the log, as with DATA_PLATFORM_URL unset, and HTTP to the bench's sink in a process of its
// own) a relay host process (bench/relay-host.ts) starts the relay exactly as the server does: a Bun Worker thread
// with its own pool. This process then runs BENCH_RELAY_EVENTS events' worth of checkouts at BENCH_RELAY_RATE
// checkouts a second (BENCH_RELAY_CONCURRENCY at most in flight), each as the services write them through Kicks'
// outbox writer: one transaction with ORDER_CREATED and COUPON_USED, then one with PAYMENT_COMPLETED. It reports,
// per event, the relay host's CPU by thread (/proc/<pid>/task/<tid>/schedstat, nanoseconds: the Worker thread is the
// relay; JIT, GC and allocator threads are shared by both threads), and the statements the relay sent, counted
// by a proxy between the relay host and PostgreSQL (every Sync or simple Query message is one round trip).
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { openDatabase } from "../src/infra/db/client";
import { DrizzleOutboxWriter } from "../src/infra/db/repositories/outbox-repository";
import { Transactions } from "../src/infra/db/transactions";
import { envInt, ROOT } from "./config";
import { startOutboxSink } from "./outbox";
import { cleanup, onCleanup, type Server, startServer, stopProcess, waitHealthy } from "./processes";

const EVENTS = envInt("BENCH_RELAY_EVENTS", 20_000, 30, 1_000_000);
const RATE = envInt("BENCH_RELAY_RATE", 1000, 1, 100_000);
const CONCURRENCY = envInt("BENCH_RELAY_CONCURRENCY", 64, 1, 1000);
const EVENTS_PER_CHECKOUT = 3;
const WARMUP_CHECKOUTS = 500;
const DRAIN_TIMEOUT_MS = 180_000;
const BENCH_DATABASE = "kicks_relay_bench";
const BASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const databaseUrl = (name: string) => {
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
};

// ---------------------------------------------------------------- statements, counted on the wire

/**
 * A TCP proxy in front of PostgreSQL that counts the round trips its clients ask for: a Sync (extended protocol:
 * Parse/Bind/Execute…/Sync, how postgres.js sends every statement) or a simple Query. The first message of a
 * connection (the startup packet) has no type byte.
 */
async function countingProxy(target: URL) {
  let statements = 0;
  type Side = { peer?: Bun.Socket<Side>; pending: Buffer[]; started: boolean; buffered: Buffer };
  const count = (side: Side, chunk: Buffer) => {
    let data = side.buffered.length ? Buffer.concat([side.buffered, chunk]) : chunk;
    let offset = 0;
    for (;;) {
      if (!side.started) {
        if (data.length - offset < 4) break;
        const length = data.readInt32BE(offset);
        if (data.length - offset < length) break;
        offset += length;
        side.started = true;
        continue;
      }
      if (data.length - offset < 5) break;
      const type = data[offset];
      const length = data.readInt32BE(offset + 1);
      if (data.length - offset < length + 1) break;
      if (type === 0x53 /* S */ || type === 0x51 /* Q */) statements++;
      offset += length + 1;
    }
    data = data.subarray(offset);
    side.buffered = Buffer.from(data);
  };
  const server = Bun.listen<Side>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        client.data = { pending: [], started: false, buffered: Buffer.alloc(0) };
        const upstream = await Bun.connect<Side>({
          hostname: target.hostname,
          port: Number(target.port || 5432),
          socket: {
            data: (_, chunk) => void client.write(chunk),
            close: () => void client.end(),
            error: () => void client.end(),
          },
          data: { pending: [], started: true, buffered: Buffer.alloc(0) },
        });
        client.data.peer = upstream;
        for (const chunk of client.data.pending) upstream.write(chunk);
        client.data.pending = [];
      },
      data(client, chunk) {
        count(client.data, Buffer.from(chunk));
        if (client.data.peer) client.data.peer.write(chunk);
        else client.data.pending.push(Buffer.from(chunk));
      },
      close: (client) => void client.data.peer?.end(),
      error: (client) => void client.data.peer?.end(),
    },
  });
  return { port: server.port, statements: () => statements, stop: () => server.stop(true) };
}

// ---------------------------------------------------------------- CPU of the relay host, by thread

interface ThreadCpu {
  byThread: Map<string, { name: string; ns: number }>;
  /** utime + stime of the whole process (clock ticks), dead threads included. */
  processTicks: number;
}

function threadCpu(pid: number): ThreadCpu {
  const byThread = new Map<string, { name: string; ns: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      byThread.set(tid, { name: tid === String(pid) ? "main" : name, ns });
    } catch {} // a thread that ended meanwhile
  }
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return { byThread, processTicks: Number(fields[11]) + Number(fields[12]) };
}

/** CPU ns per thread group between two readings; threads that came or went count from zero / are lost. */
function cpuBetween(before: ThreadCpu, after: ThreadCpu) {
  const groups = new Map<string, number>();
  for (const [tid, { name, ns }] of after.byThread) {
    const spent = ns - (before.byThread.get(tid)?.ns ?? 0);
    const group = name === "main" || name === "Worker" ? name : name.replace(/\d+$/, "");
    groups.set(group, (groups.get(group) ?? 0) + spent);
  }
  const ticksPerSecond = 100;
  return { groups, processNs: ((after.processTicks - before.processTicks) / ticksPerSecond) * 1e9 };
}

// ---------------------------------------------------------------- checkouts writing events

function checkoutWriter(url: string) {
  const database = openDatabase({ url, poolSize: CONCURRENCY, migrationsDir: join(ROOT, "drizzle") });
  const transactions = new Transactions(database.db);
  const writer = new DrizzleOutboxWriter(transactions, () => Bun.randomUUIDv7());
  const checkout = async (n: number) => {
    const orderId = Bun.randomUUIDv7();
    const userId = Bun.randomUUIDv7();
    const couponId = Bun.randomUUIDv7();
    const items = [{ productId: Bun.randomUUIDv7(), quantity: 1, unitPrice: 219_000 }];
    await transactions.withTransaction(async () => {
      await writer.append("order", {
        aggregateId: orderId,
        type: "ORDER_CREATED",
        payload: { orderId, userId, items, totalAmount: 209_000, couponId, n },
      });
      await writer.append("coupon", {
        aggregateId: couponId,
        type: "COUPON_USED",
        payload: { couponId, userId, orderId, discountAmount: 10_000 },
      });
    });
    await transactions.withTransaction(() =>
      writer.append("order", {
        aggregateId: orderId,
        type: "PAYMENT_COMPLETED",
        payload: { orderId, paymentId: Bun.randomUUIDv7(), amount: 209_000, method: "BALANCE" },
      }),
    );
  };
  /** `count` checkouts on a steady schedule of RATE a second, at most CONCURRENCY in flight. */
  const run = async (count: number) => {
    const period = 1000 / RATE;
    const started = performance.now();
    const inFlight = new Set<Promise<void>>();
    for (let n = 0; n < count; n++) {
      const wait = started + n * period - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      while (inFlight.size >= CONCURRENCY) await Promise.race(inFlight);
      const one: Promise<void> = checkout(n).finally(() => inFlight.delete(one));
      inFlight.add(one);
    }
    await Promise.all(inFlight);
    return (performance.now() - started) / 1000;
  };
  return { run, close: () => database.close() };
}

// ---------------------------------------------------------------- one publisher

async function sentSoFar(host: Server): Promise<{ sent: number; batches: number }> {
  return (await (await fetch(`${host.url}/sent`, { signal: AbortSignal.timeout(10_000) })).json()) as {
    sent: number;
    batches: number;
  };
}

async function waitSent(host: Server, target: number) {
  const until = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const now = await sentSoFar(host);
    if (now.sent >= target) return now;
    if (Date.now() > until) throw new Error(`relay bench: ${now.sent} of ${target} events SENT after the timeout`);
    await Bun.sleep(50);
  }
}

async function measure(
  publisher: string,
  env: Record<string, string | undefined>,
  proxy: Awaited<ReturnType<typeof countingProxy>>,
  writer: ReturnType<typeof checkoutWriter>,
  resultsDir: string,
) {
  const host = startServer(
    `relay host (${publisher})`,
    join(ROOT, "bench/relay-host.ts"),
    env,
    join(resultsDir, `relay-host-${publisher}.log`),
  );
  try {
    await waitHealthy(host, "/sent");
    await writer.run(WARMUP_CHECKOUTS);
    const warm = await waitSent(host, WARMUP_CHECKOUTS * EVENTS_PER_CHECKOUT);
    await Bun.sleep(300);
    const checkouts = Math.ceil(EVENTS / EVENTS_PER_CHECKOUT);
    const events = checkouts * EVENTS_PER_CHECKOUT;
    const cpuBefore = threadCpu(host.proc.pid);
    const statementsBefore = proxy.statements();
    const seconds = await writer.run(checkouts);
    const done = await waitSent(host, warm.sent + events);
    const cpu = cpuBetween(cpuBefore, threadCpu(host.proc.pid));
    const statements = proxy.statements() - statementsBefore;
    const perEvent = (ns: number) => Math.round(ns / events / 100) / 10;
    const others = [...cpu.groups].filter(([name]) => name !== "main" && name !== "Worker");
    const line = [
      `${publisher.padEnd(5)} relay CPU per event: Worker ${perEvent(cpu.groups.get("Worker") ?? 0)} µs`,
      `main ${perEvent(cpu.groups.get("main") ?? 0)} µs`,
      `others ${perEvent(others.reduce((sum, [, ns]) => sum + ns, 0))} µs (${others
        .filter(([, ns]) => ns > 0)
        .map(([name, ns]) => `${name} ${perEvent(ns)}`)
        .join(", ")})`,
      `process ${perEvent(cpu.processNs)} µs`,
      `statements/event ${(statements / events).toFixed(3)}`,
      `events/batch ${(events / Math.max(1, done.batches - warm.batches)).toFixed(1)}`,
      `(${events} events, ${checkouts} checkouts in ${seconds.toFixed(1)} s)`,
    ];
    console.log(line.join(", "));
  } finally {
    await stopProcess(host.proc);
  }
}

async function main() {
  const resultsDir = mkdtempSync(join(tmpdir(), "kicks-relay-bench-"));
  const admin = postgres(BASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${BENCH_DATABASE} with (force)`);
  await admin.unsafe(`create database ${BENCH_DATABASE}`);
  onCleanup("bench database", async () => {
    await admin.unsafe(`drop database if exists ${BENCH_DATABASE} with (force)`);
    await admin.end({ timeout: 5 });
  });
  const url = databaseUrl(BENCH_DATABASE);
  const migrations = openDatabase({ url, poolSize: 1, migrationsDir: join(ROOT, "drizzle") });
  await migrations.migrate();
  await migrations.close();

  const proxy = await countingProxy(new URL(url));
  onCleanup("statement proxy", async () => proxy.stop());
  const proxied = new URL(url);
  proxied.host = `127.0.0.1:${proxy.port}`;
  const sink = await startOutboxSink(resultsDir);
  const writer = checkoutWriter(url);
  onCleanup("checkout writer", () => writer.close());

  const env = {
    ...process.env,
    DATABASE_URL: proxied.toString(),
    MIGRATIONS_DIR: join(ROOT, "drizzle"),
    JWT_SECRET: process.env.JWT_SECRET ?? "relay-bench-secret-relay-bench-secret",
    LOG_LEVEL: "info",
  };
  console.log(
    `relay bench: ${EVENTS} events as checkouts (${EVENTS_PER_CHECKOUT} events in 2 transactions each) at ${RATE}/s, ${CONCURRENCY} at most in flight; logs in ${resultsDir}`,
  );
  await measure("log", { ...env, DATA_PLATFORM_URL: undefined }, proxy, writer, resultsDir);
  await measure("http", { ...env, DATA_PLATFORM_URL: sink.eventsUrl }, proxy, writer, resultsDir);
}

process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanup();
}

// The outbox module: how fast Kicks' relay (its worker thread) drains a backlog into a data platform, and how long
// an event takes from its transaction to the platform while the server is busy. Needs PostgreSQL: the bench writes
// events into Kicks' database from this process, which the embedded database does not allow.
//
// 1. Delivery rate: OUTBOX_EVENTS PENDING events (half per table, five per aggregate) bulk-inserted in one
//    transaction; rate = events / (last receipt at the sink - commit).
// 2. Lag under load: wrk drives concurrent balance charges for SECONDS while this process appends one event per
//    transaction at OUTBOX_APPEND_RATE through Kicks' own outbox writer, as the services do; the sink measures
//    each event's commit → receipt time from the `writtenAt` in its payload, taken inside the transaction just
//    before its INSERT (so the figure also holds the INSERT and COMMIT round trips, a few ms more than from the
//    commit itself; waiting for a pooled connection is not in it).
import { join } from "node:path";
import postgres from "postgres";
import { openDatabase } from "../src/infra/db/client";
import { DrizzleOutboxWriter } from "../src/infra/db/repositories/outbox-repository";
import { Transactions } from "../src/infra/db/transactions";
import type { Invariant } from "./checks";
import { OUTBOX_APPEND_RATE, OUTBOX_EVENTS, ROOT, SECONDS } from "./config";
import { type Server, startServer, waitHealthy } from "./processes";
import { type WrkReport, wrk } from "./wrk";

export const TARGET_EVENTS_PER_SECOND = 5000;
export const TARGET_LAG_P99_MS = 1000;
const DRAIN_TIMEOUT_MS = 180_000;

interface SinkStats {
  received: number;
  unique: number;
  firstAt: number;
  lastAt: number;
  lagMs: { count: number; p50: number; p99: number; max: number };
}

export interface OutboxBenchResult {
  delivery: { events: number; seconds: number; eventsPerSecond: number; received: number; sent: number };
  lag: {
    appended: number;
    appendFailures: number;
    appendsPerSecond: number;
    chargesPerSecond: number;
    lagMs: SinkStats["lagMs"];
    received: number;
  };
}

/** The data platform stand-in, in a process of its own; its URL is Kicks' DATA_PLATFORM_URL. */
export async function startOutboxSink(resultsDir: string): Promise<Server & { eventsUrl: string }> {
  const sink = startServer(
    "outbox sink",
    join(ROOT, "bench/outbox-sink.ts"),
    process.env,
    join(resultsDir, "sink.log"),
  );
  await waitHealthy(sink, "/healthz");
  return { ...sink, eventsUrl: `${sink.url}/events` };
}

async function sinkStats(sink: Server): Promise<SinkStats> {
  return (await (await fetch(`${sink.url}/stats`, { signal: AbortSignal.timeout(10_000) })).json()) as SinkStats;
}

async function resetSink(sink: Server): Promise<void> {
  await fetch(`${sink.url}/reset`, { method: "POST", signal: AbortSignal.timeout(10_000) });
}

async function waitForSink(sink: Server, done: (stats: SinkStats) => boolean, what: string): Promise<SinkStats> {
  const until = Date.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const stats = await sinkStats(sink);
    if (done(stats)) return stats;
    if (Date.now() > until) throw new Error(`outbox bench: ${what} not done within ${DRAIN_TIMEOUT_MS / 1000} s`);
    await Bun.sleep(50);
  }
}

const BULK_TYPES = {
  order_events: ["ORDER_CREATED", "PAYMENT_COMPLETED", "ORDER_CANCELLED", "REFUND_COMPLETED"],
  coupon_events: ["COUPON_CREATED", "COUPON_ISSUED", "COUPON_USED", "COUPON_RESTORED"],
};

async function measureDelivery(sql: postgres.Sql, sink: Server, runId: string) {
  await resetSink(sink);
  const perTable = Math.floor(OUTBOX_EVENTS / 2);
  const tables = [
    ["order_events", OUTBOX_EVENTS - perTable],
    ["coupon_events", perTable],
  ] as const;
  await sql.begin(async (tx) => {
    for (const [table, count] of tables) {
      const types = `array[${BULK_TYPES[table].map((type) => `'${type}'`).join(", ")}]`;
      // Five events per aggregate, in order: the relay keeps their order, so this also measures chains.
      await tx.unsafe(
        `insert into ${table} (id, aggregate_id, type, payload)
         select gen_random_uuid(), md5($1::text || (i / 5)::text)::uuid, (${types})[1 + i % 4], jsonb_build_object('n', i, 'bench', $1::text)
         from generate_series(0, $2::int - 1) i order by i`,
        [`${runId}-${table}`, count],
      );
    }
  });
  const committedAt = Date.now();
  const stats = await waitForSink(sink, (s) => s.unique >= OUTBOX_EVENTS, `delivering ${OUTBOX_EVENTS} events`);
  const seconds = (stats.lastAt - committedAt) / 1000;
  // The sink sees an event before the relay records it: its batch is marked SENT once all its tries are done.
  const countSent = async () => {
    const [{ sent }] = await sql<[{ sent: string }]>`
      select (select count(*) from order_events where status = 'SENT' and payload->>'bench' like ${`${runId}-%`})
           + (select count(*) from coupon_events where status = 'SENT' and payload->>'bench' like ${`${runId}-%`})
        as sent`;
    return Number(sent);
  };
  let sent = await countSent();
  for (const until = Date.now() + 30_000; sent < OUTBOX_EVENTS && Date.now() < until; sent = await countSent()) {
    await Bun.sleep(100);
  }
  return {
    events: OUTBOX_EVENTS,
    seconds,
    eventsPerSecond: Math.round(OUTBOX_EVENTS / seconds),
    received: stats.received,
    sent,
  };
}

async function measureLagUnderLoad(databaseUrl: string, sink: Server, chargeUrl: string, chargeScript: string) {
  await resetSink(sink);
  // Kicks' own writer in a transaction of its own, as the order and coupon services will append.
  const database = openDatabase({ url: databaseUrl, poolSize: 8, migrationsDir: join(ROOT, "drizzle") });
  const transactions = new Transactions(database.db);
  const writer = new DrizzleOutboxWriter(transactions, () => Bun.randomUUIDv7());
  let appended = 0;
  let appendFailures = 0;
  const appendOne = async (n: number) => {
    try {
      await transactions.withTransaction(() =>
        writer.append("order", {
          aggregateId: Bun.randomUUIDv7(),
          type: "ORDER_CREATED",
          payload: { n, writtenAt: Date.now() },
        }),
      );
      appended++;
    } catch {
      appendFailures++;
    }
  };
  try {
    const load: Promise<WrkReport> = wrk(chargeUrl, SECONDS, chargeScript);
    const period = 1000 / OUTBOX_APPEND_RATE;
    const started = performance.now();
    const appends: Promise<void>[] = [];
    // A steady schedule, not "as fast as possible": a late append does not push the ones after it back.
    for (let n = 0; performance.now() - started < SECONDS * 1000; n++) {
      const wait = started + n * period - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      appends.push(appendOne(n));
    }
    const appendSeconds = (performance.now() - started) / 1000;
    await Promise.all(appends);
    const report = await load;
    const stats = await waitForSink(sink, (s) => s.lagMs.count >= appended, `delivering ${appended} appended events`);
    return {
      appended,
      appendFailures,
      appendsPerSecond: Math.round(appended / appendSeconds),
      chargesPerSecond: Math.round(report.requests / (report.durationUs / 1e6)),
      lagMs: stats.lagMs,
      received: stats.received,
    };
  } finally {
    await database.close();
  }
}

export interface OutboxBenchRun {
  databaseUrl: string;
  sink: Server;
  chargeUrl: string;
  chargeScript: string;
  runId: string;
}

export async function runOutboxBench(run: OutboxBenchRun): Promise<OutboxBenchResult> {
  const sql = postgres(run.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    process.stdout.write(`  outbox: ${OUTBOX_EVENTS} PENDING events → sink ... `);
    const delivery = await measureDelivery(sql, run.sink, run.runId);
    console.log(`${delivery.eventsPerSecond} events/s`);
    process.stdout.write(`  outbox: lag at ${OUTBOX_APPEND_RATE} appends/s under wrk charges ... `);
    const lag = await measureLagUnderLoad(run.databaseUrl, run.sink, run.chargeUrl, run.chargeScript);
    console.log(`p50 ${lag.lagMs.p50} ms, p99 ${lag.lagMs.p99} ms`);
    return { delivery, lag };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Nothing lost is a requirement (the bench fails without it); the speed targets are reported beside. */
export function checkOutboxRun(result: OutboxBenchResult): { invariants: Invariant[]; targets: Invariant[] } {
  const { delivery, lag } = result;
  return {
    invariants: [
      {
        name: "outbox: every bulk-inserted event reached the sink and is SENT",
        ok: delivery.sent === delivery.events && delivery.received >= delivery.events,
        detail: `${delivery.events} inserted, ${delivery.sent} SENT, ${delivery.received} POSTs received (duplicates allowed: at least once)`,
      },
      {
        name: "outbox: every event appended under load reached the sink",
        ok: lag.appendFailures === 0 && lag.lagMs.count >= lag.appended,
        detail: `${lag.appended} appended (${lag.appendFailures} failed), ${lag.lagMs.count} with a lag measured`,
      },
    ],
    targets: [
      {
        name: `outbox delivery rate ≥ ${TARGET_EVENTS_PER_SECOND} events/s`,
        ok: delivery.eventsPerSecond >= TARGET_EVENTS_PER_SECOND,
        detail: `${delivery.eventsPerSecond} events/s (${delivery.events} events in ${delivery.seconds.toFixed(2)} s)`,
      },
      {
        name: `outbox lag p99 < ${TARGET_LAG_P99_MS} ms under load`,
        ok: lag.lagMs.p99 < TARGET_LAG_P99_MS,
        detail: `p50 ${lag.lagMs.p50} ms, p99 ${lag.lagMs.p99} ms, max ${lag.lagMs.max} ms over ${lag.lagMs.count} events; ${lag.appendsPerSecond} appends/s beside ${lag.chargesPerSecond} charges/s`,
      },
    ],
  };
}

import { describe, expect, it } from "bun:test";
import type { BatchReport } from "../../src/domain/outbox/ports";
import { createLogger } from "../../src/infra/logger";
import { type RelayWorker, spawnRelayWorker, startOutboxRelay } from "../../src/workers/outbox-relay/start";
import { cleanupAfterEach } from "../support/cleanups";
import { createTestApp, hasPostgres, openTestDatabase } from "../support/harness";
import { eventsOf, FAST_RELAY_ENV, outboxWriterFor, relayConfig, sentIn } from "../support/outbox";
import { waitFor } from "../support/wait";

// Worker threads open their own pool, so they need a database server (embedded mode runs the relay on the
// main thread instead: outbox-relay.test.ts and outbox-relay-embedded.test.ts).
const database = openTestDatabase();
const append = outboxWriterFor(database);
const logger = createLogger("silent");

const after = cleanupAfterEach();
const sink = after.sink;

async function worker(env: Record<string, string>, reports: BatchReport[] = []): Promise<RelayWorker> {
  const relay = spawnRelayWorker(relayConfig(env), (report) => reports.push(report), logger);
  after.defer(() => relay.stop());
  await relay.started;
  return relay;
}

const rowsOf = (aggregates: string[]) => eventsOf(database, "order", aggregates);
const allSent = (aggregates: string[]) => async () => (await rowsOf(aggregates)).every((row) => row.status === "SENT");

describe.skipIf(!hasPostgres)("the relay in a worker thread", () => {
  it("delivers events and reports its batches to the main thread", async () => {
    const platform = sink();
    const reports: BatchReport[] = [];
    await worker({ DATA_PLATFORM_URL: platform.url }, reports);
    const orders = [Bun.randomUUIDv7(), Bun.randomUUIDv7()];
    for (const order of orders) await append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED");
    await waitFor("delivery", allSent(orders));
    for (const row of await rowsOf(orders)) expect(platform.of(row.id)).toHaveLength(1);
    await waitFor("the reports", () => sentIn(reports) >= 4);
    expect(reports.flatMap((report) => report.latenciesSeconds).length).toBeGreaterThanOrEqual(4);
  });

  it("loses nothing when killed after claiming a batch: the lease expires and another relay delivers it", async () => {
    const order = Bun.randomUUIDv7();
    const platform = after.holdingSink(order);
    const env = { DATA_PLATFORM_URL: platform.url, OUTBOX_LEASE_SECONDS: "2" };
    const doomed = await worker(env);
    const events = await append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED", "ORDER_CANCELLED");
    await waitFor("the first try in flight", () => platform.of(events[0]!.id).length === 1);
    doomed.kill();
    await doomed.exited;
    platform.release();
    expect((await rowsOf([order])).map((row) => row.status)).toEqual(["PROCESSING", "PROCESSING", "PROCESSING"]);

    await worker(env);
    await waitFor("redelivery after the lease expired", allSent([order]));
    const rows = await rowsOf([order]);
    // `attempts` counts tries made: the killed try counts (it reached the platform); the events the dead relay
    // had claimed but never tried do not.
    expect(platform.of(events[0]!.id)).toHaveLength(2);
    for (const event of events.slice(1)) expect(platform.of(event.id)).toHaveLength(1);
    expect(rows.map((row) => row.attempts)).toEqual(events.map((event) => platform.of(event.id).length));
  });

  it("with two relays, delivers every event exactly once, never one event by both at once, in order", async () => {
    const platform = sink(async () => {
      await Bun.sleep(Math.random() * 3);
      return 200;
    });
    const env = { DATA_PLATFORM_URL: platform.url, OUTBOX_LEASE_SECONDS: "30", OUTBOX_BATCH_SIZE: "20" };
    await Promise.all([worker(env), worker(env)]);
    const orders = Array.from({ length: 40 }, () => Bun.randomUUIDv7());
    await Promise.all(
      orders.map((order) => append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED", "ORDER_CANCELLED")),
    );
    await waitFor("every event delivered", allSent(orders));

    const rows = await rowsOf(orders);
    expect(rows).toHaveLength(120);
    for (const row of rows) expect(platform.of(row.id)).toHaveLength(1);
    expect(platform.overlaps).toBe(0);
    for (const order of orders) {
      const arrived = platform.receipts.filter((r) => r.body.aggregateId === order).map((r) => r.body.id);
      expect(arrived).toEqual(rows.filter((row) => row.aggregateId === order).map((row) => row.id));
    }
  });

  it("on stop, finishes the try in flight, puts the untried rest back as PENDING and ends the thread", async () => {
    const order = Bun.randomUUIDv7();
    const platform = after.holdingSink(order);
    const relay = spawnRelayWorker(relayConfig({ DATA_PLATFORM_URL: platform.url }), () => {}, logger);
    await relay.started;
    const [first, second] = await append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED");
    await waitFor("the first try in flight", () => platform.of(first!.id).length === 1);
    const stopped = relay.stop();
    // Answer only once the worker has taken the stop in: else it would rightly go on to the second event.
    await relay.stopping;
    platform.release();
    await stopped;
    await relay.exited;

    const rows = await rowsOf([order]);
    expect(rows.map((row) => [row.id, row.status, row.attempts, row.leaseOwner])).toEqual([
      [first!.id, "SENT", 1, null],
      [second!.id, "PENDING", 0, null],
    ]);
  });

  it("is started by startOutboxRelay, and its counters appear on the main thread's /metrics", async () => {
    const platform = sink();
    const t = await createTestApp({ env: { ...FAST_RELAY_ENV, DATA_PLATFORM_URL: platform.url } });
    after.defer(() => t.close());
    const relay = await startOutboxRelay(t.container);
    after.defer(() => relay.stop());
    const orders = [Bun.randomUUIDv7(), Bun.randomUUIDv7(), Bun.randomUUIDv7()];
    for (const order of orders) await append("order", order, "ORDER_CREATED");
    await waitFor("delivery", allSent(orders));

    const metric = (text: string, name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
    const text = await waitFor("the worker's counts on /metrics", async () => {
      const body = (await t.get<string>("/metrics")).body;
      return metric(body, 'outbox_deliveries_total\\{table="order"\\}') >= 3 && body;
    });
    expect(metric(text, 'outbox_delivery_latency_seconds_count\\{table="order"\\}')).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/^outbox_backlog_events\{table="order",status="ALERTED"\} \d+$/m);
    expect(text).toMatch(/^outbox_oldest_pending_age_seconds\{table="coupon"\} [\d.e+-]+$/m);
  });
});

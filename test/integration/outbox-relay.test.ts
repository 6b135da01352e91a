import { describe, expect, it } from "bun:test";
import { eq } from "drizzle-orm";
import { orderEvents } from "../../src/infra/db/schema";
import { cleanupAfterEach } from "../support/cleanups";
import { openTestDatabase } from "../support/harness";
import { eventsOf, outboxWriterFor, sentIn, startRelay } from "../support/outbox";
import { waitFor } from "../support/wait";

// The relay loop on this thread, as embedded mode runs it, over this run's database (PostgreSQL or PGlite).
const database = openTestDatabase();
const append = outboxWriterFor(database);

const after = cleanupAfterEach();
const sink = after.sink;

async function relay(env: Record<string, string>) {
  const running = await startRelay(database, env);
  after.defer(() => running.stop());
  return running;
}

const statusOf = async (topic: "order" | "coupon", aggregateId: string) =>
  (await eventsOf(database, topic, [aggregateId])).map((row) => row.status);
const allSent = (topic: "order" | "coupon", aggregateId: string) => async () =>
  (await statusOf(topic, aggregateId)).every((status) => status === "SENT");

describe("the outbox relay", () => {
  it("delivers events appended in a transaction once each, with their headers, and marks them SENT", async () => {
    const platform = sink();
    const running = await relay({ DATA_PLATFORM_URL: platform.url });
    const [order, coupon] = [Bun.randomUUIDv7(), Bun.randomUUIDv7()];
    const orderRows = await append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED");
    const [couponRow] = await append("coupon", coupon, "COUPON_ISSUED");
    await waitFor(
      "both tables delivered",
      async () => (await allSent("order", order)()) && allSent("coupon", coupon)(),
    );

    for (const row of [...orderRows, couponRow!]) {
      const receipts = platform.of(row.id);
      expect(receipts).toHaveLength(1);
      expect(receipts[0]!.body).toEqual({
        id: row.id,
        aggregateId: row.aggregateId,
        type: row.type,
        payload: row.payload,
        createdAt: row.createdAt.toISOString(),
      });
      expect(receipts[0]!.headers.get("idempotency-key")).toBe(row.id);
      expect(receipts[0]!.headers.get("x-event-type")).toBe(row.type);
    }
    const rows = await eventsOf(database, "order", [order]);
    expect(rows.map((row) => [row.status, row.attempts, row.leaseOwner, row.lastError])).toEqual([
      ["SENT", 1, null, null],
      ["SENT", 1, null, null],
    ]);
    expect(rows[0]!.sentAt!.getTime()).toBeGreaterThanOrEqual(rows[0]!.createdAt.getTime());
    expect(sentIn(running.reports)).toBeGreaterThanOrEqual(3);
    expect(running.reports.flatMap((report) => report.latenciesSeconds).every((s) => s >= 0)).toBe(true);
  });

  it("is woken by the commit's notification, not by polling", async () => {
    const platform = sink();
    await relay({ DATA_PLATFORM_URL: platform.url, OUTBOX_POLL_INTERVAL_MS: "60000" });
    // Each append commits while the relay sleeps (or has just gone round): only NOTIFY brings it back
    // before the minute-long poll, well past this test's time limit.
    for (let n = 0; n < 3; n++) {
      const order = Bun.randomUUIDv7();
      await append("order", order, "ORDER_CREATED");
      await waitFor("delivery after a notification", allSent("order", order), 20_000);
    }
  });

  it("gathers notifications before it claims, but a steady stream of them never puts the claim off", async () => {
    const platform = sink();
    const running = await relay({ DATA_PLATFORM_URL: platform.url, OUTBOX_POLL_INTERVAL_MS: "60000" });
    // Commits notifying every millisecond, as on a drop day: each one must not restart the gathering delay.
    const stream = setInterval(() => running.relay.wake("order"), 1);
    try {
      for (let n = 0; n < 3; n++) {
        const order = Bun.randomUUIDv7();
        await append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED");
        await waitFor("delivery while notifications keep coming", allSent("order", order), 20_000);
      }
    } finally {
      clearInterval(stream);
    }
  });

  it("stops listening while busy, loses nothing meanwhile, and listens again once quiet", async () => {
    const platform = sink();
    const running = await relay({ DATA_PLATFORM_URL: platform.url, OUTBOX_POLL_INTERVAL_MS: "60000" });
    const burst = Bun.randomUUIDv7();
    // One claim of more than RELAY_BUSY_CLAIM events makes it busy.
    await append("order", burst, ...Array.from({ length: 25 }, () => "ORDER_CREATED" as const));
    const during = Bun.randomUUIDv7();
    await append("order", during, "ORDER_CREATED");
    await waitFor("the burst and the event after it delivered", async () => {
      return (await allSent("order", burst)()) && allSent("order", during)();
    });
    const switches = () => running.logs.filter((line) => /^outbox relay (busy|quiet)/.test(line.msg)).map((l) => l.msg);
    await waitFor("busy, then quiet again", () => switches().some((msg) => msg.startsWith("outbox relay quiet")));
    expect(switches()[0]).toStartWith("outbox relay busy");
    // Listening again: only a notification brings this one before the minute-long poll.
    const after = Bun.randomUUIDv7();
    await append("order", after, "ORDER_CREATED");
    await waitFor("delivery after a notification", allSent("order", after), 20_000);
    expect(platform.of((await eventsOf(database, "order", [after]))[0]!.id)).toHaveLength(1);
  });

  it("retries a failing platform with growing backoff, never early, and marks the event SENT once it answers", async () => {
    const seen: { attempts: number; nextAttemptAt: number; at: number }[] = [];
    const platform = sink(async (receipt) => {
      const [row] = await database.db.select().from(orderEvents).where(eq(orderEvents.id, receipt.body.id));
      if (row) seen.push({ attempts: row.attempts, nextAttemptAt: row.nextAttemptAt.getTime(), at: receipt.at });
      return receipt.nth <= 3 ? 503 : 200;
    });
    await relay({ DATA_PLATFORM_URL: platform.url, RETRY_BASE_DELAY_MS: "100" });
    const order = Bun.randomUUIDv7();
    const [event] = await append("order", order, "ORDER_CREATED");
    await waitFor("delivery after three failures", allSent("order", order));

    expect(platform.of(event!.id)).toHaveLength(4);
    // Each try is counted as it starts: the platform sees the count that includes its own try.
    expect(seen.map((try_) => try_.attempts)).toEqual([1, 2, 3, 4]);
    for (let n = 1; n < seen.length; n++) {
      expect(seen[n]!.nextAttemptAt).toBeGreaterThan(seen[n - 1]!.nextAttemptAt);
      // Database and test share this machine's clock; the 5 ms allow for its millisecond rounding.
      expect(seen[n]!.at).toBeGreaterThanOrEqual(seen[n]!.nextAttemptAt - 5);
    }
    const [row] = await eventsOf(database, "order", [order]);
    expect(row).toMatchObject({ status: "SENT", attempts: 4, lastError: "HTTP 503: the sink says no" });
  });

  it("alerts an event after OUTBOX_MAX_ATTEMPTS failed tries, logs it and calls the webhook; its aggregate waits", async () => {
    const webhook = sink();
    const platform = sink(() => 500);
    const running = await relay({
      DATA_PLATFORM_URL: platform.url,
      ALERT_WEBHOOK_URL: webhook.url,
      OUTBOX_MAX_ATTEMPTS: "3",
    });
    const order = Bun.randomUUIDv7();
    const [first, second] = await append("order", order, "ORDER_CREATED", "ORDER_CANCELLED");
    const alert = await waitFor("the alert", () => webhook.receipts.find((r) => r.body.details?.eventId === first!.id));

    expect(alert.body).toMatchObject({
      kind: "OUTBOX_EVENT_ALERTED",
      details: { table: "order", eventId: first!.id, aggregateId: order, type: "ORDER_CREATED", attempts: 3 },
    });
    expect(Date.parse(alert.body.raisedAt)).not.toBeNaN();
    expect(platform.of(first!.id)).toHaveLength(3);
    const rows = await eventsOf(database, "order", [order]);
    expect(rows.map((row) => [row.id, row.status, row.attempts])).toEqual([
      [first!.id, "ALERTED", 3],
      [second!.id, "PENDING", 0],
    ]);
    expect(rows[0]!.lastError).toBe("HTTP 500: the sink says no");
    expect(platform.of(second!.id)).toEqual([]);
    const line = running.logs.find((l) => l.alert === "OUTBOX_EVENT_ALERTED" && l.eventId === first!.id);
    expect(line?.level).toBe("error");
  });

  it("alerts at once when the platform refuses an event with a 4xx", async () => {
    const webhook = sink();
    const platform = sink(() => 400);
    await relay({ DATA_PLATFORM_URL: platform.url, ALERT_WEBHOOK_URL: webhook.url });
    const order = Bun.randomUUIDv7();
    const [event] = await append("order", order, "ORDER_CREATED");
    await waitFor("the alert", () => webhook.receipts.find((r) => r.body.details?.eventId === event!.id));
    expect(platform.of(event!.id)).toHaveLength(1);
    const [row] = await eventsOf(database, "order", [order]);
    expect(row).toMatchObject({ status: "ALERTED", attempts: 1, lastError: "HTTP 400: the sink says no" });
  });

  it("keeps each aggregate's order under retries while other aggregates flow past", async () => {
    const [slow, other] = [Bun.randomUUIDv7(), Bun.randomUUIDv7()];
    let otherArrived = false;
    const platform = sink((receipt) => {
      if (receipt.body.aggregateId === other) otherArrived = true;
      // The slow aggregate's first event fails until an event of another aggregate has come through.
      return receipt.body.aggregateId === slow && receipt.body.payload.n === 0 && !otherArrived ? 503 : 200;
    });
    await relay({ DATA_PLATFORM_URL: platform.url });
    const events = await append("order", slow, "ORDER_CREATED", "PAYMENT_COMPLETED", "ORDER_CANCELLED");
    await waitFor("a failed try of the first event", () => platform.of(events[0]!.id).length > 0);
    await append("order", other, "ORDER_CREATED");
    await waitFor("the slow aggregate delivered", allSent("order", slow));

    const accepted = platform.receipts.filter(
      (r) => r.body.aggregateId === slow && r.nth === platform.of(r.body.id).length,
    );
    expect(accepted.map((r) => r.body.id)).toEqual(events.map((event) => event.id));
    const firstAccepted = accepted[0]!.at;
    for (const later of events.slice(1)) expect(platform.of(later.id)[0]!.at).toBeGreaterThanOrEqual(firstAccepted);
    expect(platform.of(events[0]!.id).length).toBeGreaterThan(1);
  });

  it("writes events to the log and marks them SENT when DATA_PLATFORM_URL is unset", async () => {
    const running = await relay({});
    const order = Bun.randomUUIDv7();
    const [event] = await append("order", order, "ORDER_CREATED");
    await waitFor("SENT", allSent("order", order));
    const line = running.logs.find((l) => l.event?.id === event!.id);
    expect(line).toMatchObject({ level: "info", event: { type: "ORDER_CREATED", aggregateId: order } });
  });

  it("on stop, lets the try in flight finish and puts the untried rest of the batch back as PENDING", async () => {
    const order = Bun.randomUUIDv7();
    const platform = after.holdingSink(order);
    const running = await startRelay(database, { DATA_PLATFORM_URL: platform.url, OUTBOX_LEASE_SECONDS: "30" });
    const [first, second] = await append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED");
    await waitFor("the first try in flight", () => platform.of(first!.id).length === 1);
    const stopped = running.stop();
    platform.release();
    await stopped;

    const rows = await eventsOf(database, "order", [order]);
    expect(rows.map((row) => [row.id, row.status, row.attempts, row.leaseOwner])).toEqual([
      [first!.id, "SENT", 1, null],
      [second!.id, "PENDING", 0, null],
    ]);
    expect(platform.of(second!.id)).toEqual([]);
    expect(running.reports.reduce((sum, report) => sum + report.released, 0)).toBeGreaterThanOrEqual(1);
  });
});

import { describe, expect, it } from "bun:test";
import { eq, type SQL, sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { DrizzleOutboxQueue } from "../../src/infra/db/repositories/outbox-queue";
import { orderEvents } from "../../src/infra/db/schema";
import { hasPostgres, openTestDatabase } from "../support/harness";
import { eventsOf, outboxWriterFor } from "../support/outbox";

const database = openTestDatabase();
const queue = new DrizzleOutboxQueue(database.db);
const append = outboxWriterFor(database);
const LEASE_MS = 30_000;

/**
 * Claims as a relay would, keeps what belongs to `aggregates` and releases the rest at once: the shared test
 * database may hold other files' undelivered events, which must not stay leased by this test.
 */
async function claimOf(aggregates: string[], token = crypto.randomUUID(), leaseMs = LEASE_MS) {
  const claimed = await queue.claim("order", token, 1000, leaseMs);
  const others = claimed.filter((event) => !aggregates.includes(event.aggregateId));
  await queue.release(
    "order",
    token,
    others.map((event) => event.id),
  );
  return { token, events: claimed.filter((event) => aggregates.includes(event.aggregateId)) };
}

const ids = (events: { id: string }[]) => events.map((event) => event.id);
const setStatus = (id: string, fields: Partial<typeof orderEvents.$inferInsert>) =>
  database.db.update(orderEvents).set(fields).where(eq(orderEvents.id, id));

describe("claiming events", () => {
  it("takes due events oldest first under a lease, consecutive events of one aggregate together", async () => {
    const order = Bun.randomUUIDv7();
    const events = await append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED", "ORDER_CANCELLED");
    const { token, events: claimed } = await claimOf([order]);
    expect(ids(claimed)).toEqual(ids(events));
    expect(claimed.map((event) => event.attempts)).toEqual([0, 0, 0]);
    const rows = await eventsOf(database, "order", [order]);
    expect(rows.map((row) => [row.status, row.leaseOwner])).toEqual([
      ["PROCESSING", token],
      ["PROCESSING", token],
      ["PROCESSING", token],
    ]);
    expect(rows[0]!.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now() + LEASE_MS / 2);
  });

  it.each([
    ["in flight with another relay", { status: "PROCESSING" as const, leaseExpiresAt: new Date(Date.now() + 60_000) }],
    ["backing off", { status: "FAILED" as const, nextAttemptAt: new Date(Date.now() + 60_000) }],
    ["ALERTED", { status: "ALERTED" as const }],
  ])("leaves an aggregate alone while its oldest undelivered event is %s", async (_, older) => {
    const [blocked, free] = [Bun.randomUUIDv7(), Bun.randomUUIDv7()];
    const [first] = await append("order", blocked, "ORDER_CREATED", "PAYMENT_COMPLETED");
    await setStatus(first!.id, older);
    const [other] = await append("order", free, "ORDER_CREATED");
    const { events: claimed } = await claimOf([blocked, free]);
    expect(ids(claimed)).toEqual([other!.id]);
  });

  it("takes the next event of an aggregate once the older one is SENT", async () => {
    const order = Bun.randomUUIDv7();
    const [first, second] = await append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED");
    await setStatus(first!.id, { status: "SENT", sentAt: new Date() });
    expect(ids((await claimOf([order])).events)).toEqual([second!.id]);
  });

  it("takes a FAILED event only once its next attempt is due", async () => {
    const order = Bun.randomUUIDv7();
    const [event] = await append("order", order, "ORDER_CREATED");
    await setStatus(event!.id, { status: "FAILED", attempts: 2, nextAttemptAt: new Date(Date.now() + 60_000) });
    expect((await claimOf([order])).events).toEqual([]);
    await setStatus(event!.id, { nextAttemptAt: new Date(Date.now() - 1000) });
    expect((await claimOf([order])).events.map((e) => [e.id, e.attempts])).toEqual([[event!.id, 2]]);
  });

  it("does not let a blocked aggregate's backlog crowd other aggregates out of the batch", async () => {
    const [blocked, free] = [Bun.randomUUIDv7(), Bun.randomUUIDv7()];
    const backlog = await append("order", blocked, ...Array.from({ length: 12 }, () => "ORDER_CREATED" as const));
    await setStatus(backlog[0]!.id, { status: "ALERTED" });
    const [waiting] = await append("order", free, "ORDER_CREATED");
    // Small batches, held until one comes back empty: the blocked backlog sits between the free event and
    // any older leftovers of other tests, and must not end the claiming before the free event is reached.
    const tokens: string[] = [];
    const claimed: string[] = [];
    for (;;) {
      const token = crypto.randomUUID();
      const events = await queue.claim("order", token, 5, LEASE_MS);
      if (events.length === 0) break;
      tokens.push(token);
      claimed.push(...ids(events));
    }
    try {
      expect(claimed).toContain(waiting!.id);
      expect(claimed.filter((id) => ids(backlog).includes(id))).toEqual([]);
    } finally {
      for (const token of tokens) await queue.release("order", token, claimed);
    }
  });

  it.skipIf(!hasPostgres)(
    "leaves an event out while another claim, still running, holds the older event of its aggregate",
    async () => {
      const order = Bun.randomUUIDv7();
      const [first, second] = await append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED");
      // A concurrent claim caught mid-statement: it has locked the first event and not yet committed.
      await database.db.transaction(async (tx) => {
        await tx.execute(sql`select id from order_events where id = ${first!.id} for update`);
        const { events } = await claimOf([order]);
        expect(ids(events)).not.toContain(second!.id);
        expect(events).toEqual([]);
      });
    },
  );

  it("never gives one event, or one aggregate, to two concurrent claims", async () => {
    const orders = Array.from({ length: 20 }, () => Bun.randomUUIDv7());
    for (const order of orders) await append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED", "ORDER_CANCELLED");
    const claims = await Promise.all(Array.from({ length: 8 }, () => claimOf(orders)));
    const claimed = claims.flatMap((claim) => claim.events);
    expect(new Set(ids(claimed)).size).toBe(claimed.length);
    const holder = new Map<string, string>();
    for (const { token, events } of claims) {
      for (const event of events) {
        expect(holder.get(event.aggregateId) ?? token).toBe(token);
        holder.set(event.aggregateId, token);
      }
    }
    // A claim holding part of an aggregate holds its oldest undelivered events, in order.
    for (const { events } of claims) {
      for (const order of orders) {
        const mine = events.filter((event) => event.aggregateId === order);
        const all = await eventsOf(database, "order", [order]);
        expect(ids(mine)).toEqual(ids(all).slice(0, mine.length));
      }
    }
  });
});

describe("recording outcomes", () => {
  async function claimed(types = 1) {
    const order = Bun.randomUUIDv7();
    await append("order", order, ...Array.from({ length: types }, () => "ORDER_CREATED" as const));
    const claim = await claimOf([order]);
    return { order, ...claim };
  }

  it("counts a try when it starts, only for events the claim still holds within its lease", async () => {
    const { order, token, events } = await claimed(2);
    expect(await queue.startTries("order", crypto.randomUUID(), ids(events))).toEqual([]);
    expect(await queue.startTries("order", token, [events[0]!.id])).toEqual([events[0]!.id]);
    expect((await eventsOf(database, "order", [order])).map((row) => row.attempts)).toEqual([1, 0]);

    const late = await claimed(1);
    await setStatus(late.events[0]!.id, { leaseExpiresAt: new Date(Date.now() - 1000) });
    expect(await queue.startTries("order", late.token, ids(late.events))).toEqual([]);
    expect((await eventsOf(database, "order", [late.order]))[0]?.attempts).toBe(0);
  });

  it("marks SENT in one statement, the try counted at its start, and answers each event's commit-to-SENT seconds", async () => {
    const { order, token, events } = await claimed(3);
    await queue.startTries("order", token, ids(events));
    const latencies = await queue.markSent("order", token, ids(events));
    expect(latencies).toHaveLength(3);
    for (const seconds of latencies) expect(seconds).toBeGreaterThanOrEqual(0);
    const rows = await eventsOf(database, "order", [order]);
    for (const row of rows) {
      expect(row).toMatchObject({ status: "SENT", attempts: 1, leaseOwner: null, leaseExpiresAt: null });
      expect(row.sentAt).toBeInstanceOf(Date);
    }
  });

  it("records a failure with its backoff and error, or ALERTED, the try counted at its start", async () => {
    const { order, token, events } = await claimed(2);
    await queue.startTries("order", token, ids(events));
    const retryAt = new Date(Date.now() + 60_000);
    const recorded = await queue.markFailed("order", token, [
      { id: events[0]!.id, status: "FAILED", nextAttemptAt: retryAt, lastError: "HTTP 503" },
      { id: events[1]!.id, status: "ALERTED", lastError: "HTTP 400: no" },
    ]);
    expect(recorded.sort()).toEqual(ids(events).sort());
    const [failed, alerted] = await eventsOf(database, "order", [order]);
    expect(failed).toMatchObject({ status: "FAILED", attempts: 1, lastError: "HTTP 503", leaseOwner: null });
    expect(failed!.nextAttemptAt.getTime()).toBe(retryAt.getTime());
    expect(alerted).toMatchObject({ status: "ALERTED", attempts: 1, lastError: "HTTP 400: no" });
  });

  it("puts untried events back as PENDING without counting a try", async () => {
    const { order, token, events } = await claimed(2);
    await queue.release("order", token, ids(events));
    const rows = await eventsOf(database, "order", [order]);
    expect(rows.map((row) => [row.status, row.attempts, row.leaseOwner])).toEqual([
      ["PENDING", 0, null],
      ["PENDING", 0, null],
    ]);
  });

  it("ignores writes from a claim that no longer holds the event", async () => {
    const { order, events } = await claimed(1);
    const stranger = crypto.randomUUID();
    expect(await queue.markSent("order", stranger, ids(events))).toEqual([]);
    expect(
      await queue.markFailed("order", stranger, [{ id: events[0]!.id, status: "ALERTED", lastError: "x" }]),
    ).toEqual([]);
    await queue.release("order", stranger, ids(events));
    expect((await eventsOf(database, "order", [order]))[0]?.status).toBe("PROCESSING");
  });
});

describe("expired leases", () => {
  async function leaseThatExpires(attemptsBefore: number, tried: boolean) {
    const order = Bun.randomUUIDv7();
    const [event] = await append("order", order, "ORDER_CREATED");
    await setStatus(event!.id, { attempts: attemptsBefore });
    const claim = await claimOf([order], crypto.randomUUID(), 300);
    expect(ids(claim.events)).toEqual([event!.id]);
    if (tried) expect(await queue.startTries("order", claim.token, [event!.id])).toEqual([event!.id]);
    await Bun.sleep(300);
    await Bun.sleep(20);
    return { order, event: event as { id: string } };
  }

  const recovered = (expired: { id: string }[], id: string) => expired.find((lease) => lease.id === id);

  it("go back to the queue as FAILED, due at once, the started try counted once", async () => {
    const { order, event } = await leaseThatExpires(0, true);
    const expired = await queue.recoverExpiredLeases("order", 8);
    expect(recovered(expired, event.id)).toMatchObject({ status: "FAILED", attempts: 1, aggregateId: order });
    const [row] = await eventsOf(database, "order", [order]);
    expect(row).toMatchObject({ status: "FAILED", attempts: 1, leaseOwner: null, leaseExpiresAt: null });
    expect(row!.lastError).toContain("lease expired");
    expect(row!.nextAttemptAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it("count no try for an event the dead relay claimed but never tried", async () => {
    const { order, event } = await leaseThatExpires(2, false);
    expect(recovered(await queue.recoverExpiredLeases("order", 8), event.id)).toMatchObject({
      status: "FAILED",
      attempts: 2,
    });
    expect((await eventsOf(database, "order", [order]))[0]?.attempts).toBe(2);
  });

  it("become ALERTED when the lost try was the last one allowed", async () => {
    const { event } = await leaseThatExpires(2, true);
    expect(recovered(await queue.recoverExpiredLeases("order", 3), event.id)).toMatchObject({
      status: "ALERTED",
      attempts: 3,
    });
  });

  it("leave live leases alone", async () => {
    const order = Bun.randomUUIDv7();
    await append("order", order, "ORDER_CREATED");
    const { events } = await claimOf([order]);
    const expired = await queue.recoverExpiredLeases("order", 8);
    expect(recovered(expired, events[0]!.id)).toBeUndefined();
    expect((await eventsOf(database, "order", [order]))[0]?.status).toBe("PROCESSING");
  });
});

describe("the relay's statements", () => {
  it("use the outbox's partial indexes", async () => {
    // One transaction: the setting and the plans on one connection. Few rows in a test database: without the
    // setting the planner rightly prefers reading the whole table.
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      const plan = async (query: SQL) =>
        rowsOf<Record<string, string>>(await tx.execute(sql`explain (costs off) ${query}`))
          .map((row) => Object.values(row)[0])
          .join("\n");
      const claim = await plan(sql`select id from order_events e where e.status in ('PENDING', 'FAILED')
        and not exists (select 1 from order_events o where o.aggregate_id = e.aggregate_id and o.seq < e.seq
          and o.status <> 'SENT') order by e.seq limit 10`);
      expect(claim).toContain("order_events_queue");
      expect(claim).toContain("order_events_undelivered");
      const leases = await plan(
        sql`select id from order_events where status = 'PROCESSING' and lease_expires_at <= now()`,
      );
      expect(leases).toContain("order_events_leases");
    });
  });
});

import { afterAll, describe, expect, it } from "bun:test";
import { eq } from "drizzle-orm";
import type { EventStatus } from "../../src/domain/outbox/event-status";
import { couponEvents, orderEvents } from "../../src/infra/db/schema";
import { startSink } from "../support/event-sink";
import { createTestApp } from "../support/harness";
import { eventsOf, outboxWriterFor, startRelay } from "../support/outbox";
import { waitFor } from "../support/wait";

const t = await createTestApp();
afterAll(() => t.close());
const { database } = t.container;
const append = outboxWriterFor(database);
const { token: admin } = await t.registerUser("ADMIN");
const { token: buyer } = await t.registerUser("BUYER");

/** One order's events, put straight into the given statuses (as the relay would have left them). */
async function orderWith(...statuses: EventStatus[]) {
  const order = Bun.randomUUIDv7();
  const types = ["ORDER_CREATED", "PAYMENT_COMPLETED", "ORDER_CANCELLED", "REFUND_COMPLETED"] as const;
  const rows = await append("order", order, ...statuses.map((_, n) => types[n % types.length]!));
  for (const [n, status] of statuses.entries()) {
    const fields =
      status === "SENT"
        ? { status, attempts: 1, sentAt: new Date() }
        : status === "PROCESSING"
          ? { status, leaseOwner: "elsewhere", leaseExpiresAt: new Date(Date.now() + 60_000) }
          : status === "PENDING"
            ? { status }
            : { status, attempts: 3, lastError: "HTTP 503", nextAttemptAt: new Date(Date.now() + 60_000) };
    await database.db.update(orderEvents).set(fields).where(eq(orderEvents.id, rows[n]!.id));
  }
  return { order, ids: rows.map((row) => row.id) };
}

const list = (query: string, token = admin) => t.get(`/api/v1/admin/events?${query}`, { token });
const retry = (table: string, id: string, token = admin) =>
  t.post(`/api/v1/admin/events/${table}/${id}/retry`, undefined, { token });

describe("GET /api/v1/admin/events", () => {
  it("lists one aggregate's events newest first in the contract's shape", async () => {
    const { order, ids } = await orderWith("SENT", "FAILED", "PENDING");
    const res = await list(`table=order&aggregateId=${order}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ page: 1, size: 20, total: 3 });
    expect(res.body.items.map((e: { id: string }) => e.id)).toEqual([...ids].reverse());
    const [pending, failed, sent] = res.body.items;
    expect(Object.keys(sent).sort()).toEqual([
      "aggregateId",
      "attempts",
      "createdAt",
      "id",
      "lastError",
      "nextAttemptAt",
      "payload",
      "sentAt",
      "status",
      "type",
    ]);
    expect(sent).toMatchObject({
      status: "SENT",
      attempts: 1,
      nextAttemptAt: null,
      lastError: null,
      aggregateId: order,
    });
    expect(Date.parse(sent.sentAt)).not.toBeNaN();
    expect(failed).toMatchObject({ status: "FAILED", attempts: 3, lastError: "HTTP 503", sentAt: null });
    expect(Date.parse(failed.nextAttemptAt)).toBeGreaterThan(Date.now());
    expect(pending).toMatchObject({
      status: "PENDING",
      type: "ORDER_CANCELLED",
      payload: { aggregateId: order, n: 2 },
    });
  });

  it("filters by status and by type, and pages with a total", async () => {
    const { order } = await orderWith("ALERTED", "PENDING", "PENDING", "PENDING");
    const alerted = await list(`table=order&aggregateId=${order}&status=ALERTED`);
    expect(alerted.body.items.map((e: { status: string }) => e.status)).toEqual(["ALERTED"]);
    const byType = await list(`table=order&aggregateId=${order}&type=PAYMENT_COMPLETED`);
    expect(byType.body.items.map((e: { type: string }) => e.type)).toEqual(["PAYMENT_COMPLETED"]);
    const page2 = await list(`table=order&aggregateId=${order}&status=PENDING&size=2&page=2`);
    expect(page2.body).toMatchObject({ page: 2, size: 2, total: 3 });
    expect(page2.body.items).toHaveLength(1);
    const beyond = await list(`table=order&aggregateId=${order}&page=9`);
    expect(beyond.body).toMatchObject({ items: [], total: 4 });
  });

  it("reads the coupon table with table=coupon", async () => {
    const coupon = Bun.randomUUIDv7();
    await append("coupon", coupon, "COUPON_CREATED", "COUPON_ISSUED");
    const res = await list(`table=coupon&aggregateId=${coupon}`);
    expect(res.body.items.map((e: { type: string }) => e.type)).toEqual(["COUPON_ISSUED", "COUPON_CREATED"]);
    expect((await list(`table=order&aggregateId=${coupon}`)).body.total).toBe(0);
  });

  it.each([
    ["", "query.table"],
    ["table=orders", "query.table"],
    ["table=coupon&type=ORDER_CREATED", "query.type"],
    ["table=order&status=DONE", "query.status"],
    ["table=order&aggregateId=nope", "query.aggregateId"],
    ["table=order&size=101", "query.size"],
  ])("refuses ?%s with VALIDATION_FAILED at %s", async (query, path) => {
    const res = await list(query);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("is for admins only", async () => {
    expect((await list("table=order", buyer)).status).toBe(403);
    expect((await t.get("/api/v1/admin/events?table=order")).status).toBe(401);
  });
});

describe("POST /api/v1/admin/events/{table}/{eventId}/retry", () => {
  it.each(["FAILED", "ALERTED"] as const)("puts a %s event back as PENDING with attempts 0: 202", async (status) => {
    const { order, ids } = await orderWith(status);
    const res = await retry("order", ids[0]!);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: ids[0], status: "PENDING", attempts: 0, aggregateId: order });
    expect(Date.parse(res.body.nextAttemptAt)).toBeLessThanOrEqual(Date.now() + 1000);
    const [row] = await eventsOf(database, "order", [order]);
    expect(row).toMatchObject({ status: "PENDING", attempts: 0, leaseOwner: null });
  });

  it.each(["SENT", "PENDING", "PROCESSING"] as const)(
    "refuses a %s event with 409 EVENT_NOT_RETRYABLE",
    async (status) => {
      const { order, ids } = await orderWith(status);
      const before = await eventsOf(database, "order", [order]);
      const res = await retry("order", ids[0]!);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe("EVENT_NOT_RETRYABLE");
      expect(res.body.detail).toContain(status);
      expect(await eventsOf(database, "order", [order])).toEqual(before);
    },
  );

  it("answers 404 EVENT_NOT_FOUND for an unknown event, or one of the other table", async () => {
    expect((await retry("order", Bun.randomUUIDv7())).body.code).toBe("EVENT_NOT_FOUND");
    const { ids } = await orderWith("FAILED");
    const wrongTable = await retry("coupon", ids[0]!);
    expect(wrongTable.status).toBe(404);
    expect(wrongTable.body.code).toBe("EVENT_NOT_FOUND");
    const [row] = await database.db.select().from(couponEvents).where(eq(couponEvents.id, ids[0]!));
    expect(row).toBeUndefined();
  });

  it("refuses an unknown table or a malformed id with VALIDATION_FAILED", async () => {
    const badTable = await retry("refund", Bun.randomUUIDv7());
    expect(badTable.status).toBe(400);
    expect(badTable.body.errors[0].path).toBe("param.table");
    const badId = await retry("order", "not-a-uuid");
    expect(badId.status).toBe(400);
    expect(badId.body.errors[0].path).toBe("param.eventId");
  });

  it("is for admins only", async () => {
    const { ids } = await orderWith("FAILED");
    expect((await retry("order", ids[0]!, buyer)).status).toBe(403);
  });

  it("hands the event to the relay at once: the retry itself wakes it", async () => {
    // Written before the relay starts, so it never sees them in their factory-made states; the PENDING event
    // waits behind the ALERTED one of its order.
    const { order, ids } = await orderWith("ALERTED", "PENDING");
    const platform = startSink();
    const relay = await startRelay(database, { DATA_PLATFORM_URL: platform.url, OUTBOX_POLL_INTERVAL_MS: "60000" });
    try {
      expect((await retry("order", ids[0]!)).status).toBe(202);
      await waitFor("delivery after the retry", async () =>
        (await eventsOf(database, "order", [order])).every((row) => row.status === "SENT"),
      );
      expect(platform.receipts.filter((r) => r.body.aggregateId === order).map((r) => r.body.id)).toEqual(ids);
    } finally {
      await relay.stop();
      platform.stop();
    }
  });
});

describe("the OpenAPI document", () => {
  it("names the event routes by their constants and lists their error codes", async () => {
    const doc = (await t.get("/openapi.json")).body;
    const listing = doc.paths["/api/v1/admin/events"].get;
    const retrying = doc.paths["/api/v1/admin/events/{table}/{eventId}/retry"].post;
    expect(listing.operationId).toBe("listEvents");
    expect(retrying.operationId).toBe("retryEvent");
    expect(retrying.responses["202"].content["application/json"].schema.$ref).toBe("#/components/schemas/OutboxEvent");
    expect(retrying.responses["409"].description).toContain("EVENT_NOT_RETRYABLE");
    expect(retrying.responses["404"].description).toContain("EVENT_NOT_FOUND");
    expect(doc.components.schemas.OutboxEvent.example.status).toBe("SENT");
  });
});

import { describe, expect, it } from "bun:test";
import { asc, eq } from "drizzle-orm";
import { DrizzleOutboxWriter } from "../../src/infra/db/repositories/outbox-repository";
import { couponEvents, orderEvents } from "../../src/infra/db/schema";
import { Transactions } from "../../src/infra/db/transactions";
import { openTestDatabase } from "../support/harness";

const database = openTestDatabase();
const transactions = new Transactions(database.db);
const outbox = new DrizzleOutboxWriter(transactions, () => Bun.randomUUIDv7());

const eventsOf = (aggregateId: string) =>
  database.db.select().from(orderEvents).where(eq(orderEvents.aggregateId, aggregateId)).orderBy(asc(orderEvents.seq));

describe("the outbox writer", () => {
  it("commits events with the transaction that appended them, PENDING and in the order appended", async () => {
    const orderId = Bun.randomUUIDv7();
    await transactions.withTransaction(async () => {
      await outbox.append("order", { aggregateId: orderId, type: "ORDER_CREATED", payload: { orderId } });
      await outbox.append("order", { aggregateId: orderId, type: "ORDER_CANCELLED", payload: { orderId } });
    });
    const rows = await eventsOf(orderId);
    expect(rows.map((row) => [row.type, row.status, row.attempts])).toEqual([
      ["ORDER_CREATED", "PENDING", 0],
      ["ORDER_CANCELLED", "PENDING", 0],
    ]);
    expect(rows[0]!.seq).toBeLessThan(rows[1]!.seq);
    expect(rows[0]!.payload).toEqual({ orderId });
  });

  it("leaves no event behind when the transaction rolls back", async () => {
    const orderId = Bun.randomUUIDv7();
    const failure = transactions.withTransaction(async () => {
      await outbox.append("order", { aggregateId: orderId, type: "ORDER_CREATED", payload: {} });
      throw new Error("the change failed");
    });
    await expect(failure).rejects.toThrow("the change failed");
    expect(await eventsOf(orderId)).toEqual([]);
  });

  it("writes each topic to its own table", async () => {
    const couponId = Bun.randomUUIDv7();
    await outbox.append("coupon", { aggregateId: couponId, type: "COUPON_CREATED", payload: { couponId } });
    const [row] = await database.db.select().from(couponEvents).where(eq(couponEvents.aggregateId, couponId));
    expect(row?.type).toBe("COUPON_CREATED");
    expect(await eventsOf(couponId)).toEqual([]);
  });

  it("is refused by the database for a type that belongs to the other table", async () => {
    const couponId = Bun.randomUUIDv7();
    const wrong = outbox.append("order", { aggregateId: couponId, type: "COUPON_CREATED" as never, payload: {} });
    await expect(wrong).rejects.toThrow();
  });
});

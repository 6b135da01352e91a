import { describe, expect, it } from "bun:test";
import { asc, eq, sql } from "drizzle-orm";
import { carriesOutboxEvents, DrizzleOutboxWriter } from "../../src/infra/db/repositories/outbox-repository";
import { couponEvents, orderEvents } from "../../src/infra/db/schema";
import { SqlStatement } from "../../src/infra/db/statements";
import { Transactions } from "../../src/infra/db/transactions";
import { openTestDatabase } from "../support/harness";

// Outbox events appended inside a transaction are deferred to the next statement of the same level that carries
// them (a stock movement, the Idempotency-Key's stored answer: docs/checkout-performance.md), else written just
// before COMMIT. Either way they commit or roll back exactly with the level that appended them, in the order
// appended; a carrier writes them only if its own write matched a row. On whichever driver this run uses.
const database = openTestDatabase();
const transactions = new Transactions(database.db, database.sessionIsolation);
const outbox = new DrizzleOutboxWriter(transactions, () => Bun.randomUUIDv7());

/** A statement of its own that carries deferred events (its own work: a constant). */
const carrier = new SqlStatement<{ n: number }>("test_carrier", transactions, ($) => sql`select ${$.n}::int as n`, {
  carrier: carriesOutboxEvents,
});

/** The events of an aggregate as the current level sees them (inside the transaction: before it commits). */
const typesOf = async (aggregateId: string) =>
  (
    await transactions.current
      .select({ type: orderEvents.type })
      .from(orderEvents)
      .where(eq(orderEvents.aggregateId, aggregateId))
      .orderBy(asc(orderEvents.seq))
  ).map((row) => row.type);

/** A carrier whose own write is conditional: it matches a row (returns it) only when `n` is positive. */
const conditional = new SqlStatement<{ n: number }>(
  "test_conditional_carrier",
  transactions,
  ($) => sql`select n from (select ${$.n}::int as n) given where n > 0`,
  { carrier: carriesOutboxEvents },
);

class Rollback extends Error {}

describe("outbox events carried by a statement", () => {
  it("are written by the next carrying statement of the level that appended them, once, with its own result", async () => {
    const orderId = Bun.randomUUIDv7();
    const couponId = Bun.randomUUIDv7();
    await transactions.withTransaction(async () => {
      await outbox.append("order", { aggregateId: orderId, type: "ORDER_CREATED", payload: { orderId } });
      await outbox.append("coupon", { aggregateId: couponId, type: "COUPON_USED", payload: { orderId } });
      await outbox.append("order", { aggregateId: orderId, type: "PAYMENT_COMPLETED", payload: { orderId } });
      expect(await typesOf(orderId)).toEqual([]);
      expect(await transactions.hasWritten()).toBe(true);
      expect(await carrier.run({ n: 7 })).toEqual([{ n: 7 }]);
      expect(await typesOf(orderId)).toEqual(["ORDER_CREATED", "PAYMENT_COMPLETED"]);
      expect(await carrier.run({ n: 8 })).toEqual([{ n: 8 }]);
    });
    expect(await typesOf(orderId)).toEqual(["ORDER_CREATED", "PAYMENT_COMPLETED"]);
    const [coupon] = await database.db.select().from(couponEvents).where(eq(couponEvents.aggregateId, couponId));
    expect(coupon?.type).toBe("COUPON_USED");
  });

  it("are never written when the savepoint that appended them rolls back, even after its carrier wrote them", async () => {
    const orderId = Bun.randomUUIDv7();
    await transactions.withTransaction(async () => {
      const nested = transactions.withTransaction(async () => {
        await outbox.append("order", { aggregateId: orderId, type: "ORDER_CREATED", payload: {} });
        await carrier.run({ n: 1 });
        expect(await typesOf(orderId)).toEqual(["ORDER_CREATED"]);
        throw new Rollback();
      });
      await expect(nested).rejects.toBeInstanceOf(Rollback);
      expect(await transactions.hasWritten()).toBe(false);
      await carrier.run({ n: 2 });
    });
    expect(await typesOf(orderId)).toEqual([]);
  });

  it("wait for their own level while an enclosing level has events waiting, so they keep the order appended", async () => {
    const orderId = Bun.randomUUIDv7();
    await transactions.withTransaction(async () => {
      await outbox.append("order", { aggregateId: orderId, type: "ORDER_CREATED", payload: {} });
      await transactions.withTransaction(async () => {
        await outbox.append("order", { aggregateId: orderId, type: "PAYMENT_COMPLETED", payload: {} });
        await carrier.run({ n: 1 });
        expect(await typesOf(orderId)).toEqual([]);
      });
    });
    expect(await typesOf(orderId)).toEqual(["ORDER_CREATED", "PAYMENT_COMPLETED"]);
  });

  it("roll back with the transaction that appended them, carried or not", async () => {
    const orderId = Bun.randomUUIDv7();
    const failed = transactions.withTransaction(async () => {
      await outbox.append("order", { aggregateId: orderId, type: "ORDER_CREATED", payload: {} });
      await carrier.run({ n: 1 });
      await outbox.append("order", { aggregateId: orderId, type: "ORDER_CANCELLED", payload: {} });
      throw new Rollback();
    });
    await expect(failed).rejects.toBeInstanceOf(Rollback);
    expect(await typesOf(orderId)).toEqual([]);
  });

  // A refusal caught at the carrier's own level, which then commits: the refused write carried nothing (before,
  // its CTEs wrote the events whether or not it matched), and the level's events, deferred for changes it made
  // before, are not lost: written once, at its next carrier or its COMMIT.
  it("are not written by a carrier whose own write matched nothing: its level keeps them, written once if it commits", async () => {
    const orderId = Bun.randomUUIDv7();
    const couponId = Bun.randomUUIDv7();
    await transactions.withTransaction(async () => {
      await outbox.append("order", { aggregateId: orderId, type: "ORDER_CREATED", payload: {} });
      await outbox.append("coupon", { aggregateId: couponId, type: "COUPON_USED", payload: {} });
      expect(await conditional.run({ n: 0 })).toEqual([]);
      expect(await typesOf(orderId)).toEqual([]);
      expect(
        await transactions.current.select().from(couponEvents).where(eq(couponEvents.aggregateId, couponId)),
      ).toEqual([]);
      expect(await transactions.hasWritten()).toBe(true);
      await outbox.append("order", { aggregateId: orderId, type: "PAYMENT_COMPLETED", payload: {} });
    });
    expect(await typesOf(orderId)).toEqual(["ORDER_CREATED", "PAYMENT_COMPLETED"]);
    const coupon = await database.db.select().from(couponEvents).where(eq(couponEvents.aggregateId, couponId));
    expect(coupon.map((row) => row.type)).toEqual(["COUPON_USED"]);
  });

  it("are written by the level's next carrier that matched, once, after one that matched nothing", async () => {
    const orderId = Bun.randomUUIDv7();
    await transactions.withTransaction(async () => {
      await outbox.append("order", { aggregateId: orderId, type: "ORDER_CREATED", payload: {} });
      expect(await conditional.run({ n: -1 })).toEqual([]);
      expect(await conditional.run({ n: 3 })).toEqual([{ n: 3 }]);
      expect(await typesOf(orderId)).toEqual(["ORDER_CREATED"]);
      expect(await conditional.run({ n: 4 })).toEqual([{ n: 4 }]);
    });
    expect(await typesOf(orderId)).toEqual(["ORDER_CREATED"]);
  });

  // A carrier that writes only when it returns rows (StatementOptions.writesOnlyWithRows) took the level's events
  // and wrote them: the level has written (its answer must be kept), though nothing is left deferred.
  it("make a carrier that writes only with rows count as its level's write once it carried them", async () => {
    const onlyWithRows = new SqlStatement<{ n: number }>(
      "test_carrier_only_with_rows",
      transactions,
      ($) => sql`select n from (select ${$.n}::int as n) given where n > 0`,
      { carrier: carriesOutboxEvents, writesOnlyWithRows: true },
    );
    const orderId = Bun.randomUUIDv7();
    await transactions.withTransaction(async () => {
      await outbox.append("order", { aggregateId: orderId, type: "ORDER_CREATED", payload: {} });
      expect(await onlyWithRows.run({ n: 2 })).toEqual([{ n: 2 }]);
      expect(await transactions.hasWritten()).toBe(true);
    });
    expect(await typesOf(orderId)).toEqual(["ORDER_CREATED"]);
  });

  it("are rolled back with their level after a carrier that matched nothing", async () => {
    const orderId = Bun.randomUUIDv7();
    const failed = transactions.withTransaction(async () => {
      await outbox.append("order", { aggregateId: orderId, type: "ORDER_CREATED", payload: {} });
      await conditional.run({ n: 0 });
      throw new Rollback();
    });
    await expect(failed).rejects.toBeInstanceOf(Rollback);
    expect(await typesOf(orderId)).toEqual([]);
  });
});

import { and, desc, eq, getTableColumns, inArray, type SQL, sql } from "drizzle-orm";
import { EVENT_TRANSITIONS, UNDELIVERED_STATUSES } from "../../../domain/outbox/event-status";
import {
  type Backlog,
  type EventFilter,
  type NewOutboxEvent,
  OUTBOX_TOPICS,
  type OutboxEventRecord,
  type OutboxEventRepository,
  type OutboxTopic,
  type OutboxWriter,
} from "../../../domain/outbox/ports";
import { offsetOf, type Page, type PageRequest } from "../../../domain/shared/paging";
import { rowsOf } from "../client";
import { pageFrom, totalOfAll } from "../paging";
import { outboxTables } from "../schema";
import { type Carrier, SqlStatement } from "../statements";
import type { Deferred, Transactions } from "../transactions";
import { statusLiterals } from "./outbox-queue";

// Both tables share one shape; the union of their types is too wide for drizzle's overloads.
const tableOf = (topic: OutboxTopic) => outboxTables[topic] as (typeof outboxTables)["order"];

/**
 * One statement per topic, built once, for any number of events: they come as one JSON array, inserted in its
 * order (so `seq` follows the order they were appended in).
 */
const appendTo = (tx: Transactions, topic: OutboxTopic) =>
  new SqlStatement<{ events: string }>(
    `outbox_append_${topic}`,
    tx,
    ($) => sql`
      insert into ${outboxTables[topic]} (id, aggregate_id, type, payload)
      select e.id, e.aggregate_id, e.type, e.payload
      from rows from (json_to_recordset(${$.events}::json) as (id uuid, aggregate_id uuid, type text, payload jsonb))
        with ordinality as e(id, aggregate_id, type, payload, n)
      order by e.n`,
  );

const carriedParam = (topic: OutboxTopic) => `__carried_${topic}_events`;

const eventsOf = (rows: Deferred[], topic: OutboxTopic) =>
  JSON.stringify(rows.filter((deferred) => deferred.topic === topic).map((deferred) => deferred.row));

/**
 * The outbox's events deferred in a transaction (DrizzleOutboxWriter.append), written by a statement of the same
 * level as data-modifying CTEs after its own write, only if that write matched a row (statements.ts, Carrier): the
 * product's stock movements and the Idempotency-Key's stored answer carry them, so an event costs no statement of
 * its own on the checkout path. Same columns and order as `appendTo`.
 */
export const carriesOutboxEvents: Carrier = {
  ctes: (written) =>
    sql.join(
      OUTBOX_TOPICS.map(
        (topic) => sql`${sql.raw(`carried_${topic}_events`)} as (
        insert into ${outboxTables[topic]} (id, aggregate_id, type, payload)
        select e.id, e.aggregate_id, e.type, e.payload
        from rows from (json_to_recordset(${sql.placeholder(carriedParam(topic))}::json)
            as (id uuid, aggregate_id uuid, type text, payload jsonb))
          with ordinality as e(id, aggregate_id, type, payload, n)
        where exists (select from ${written})
        order by e.n)`,
      ),
      sql`, `,
    ),
  bind: (rows) => Object.fromEntries(OUTBOX_TOPICS.map((topic) => [carriedParam(topic), eventsOf(rows, topic)])),
};

/**
 * An event of `topic` written by another statement's data-modifying CTE (a payment's completion writes its
 * PAYMENT_COMPLETED so): `event` selects its id, aggregate_id, type and payload (jsonb), in this table's columns.
 */
export const outboxEventInsert = (topic: OutboxTopic, event: SQL) =>
  sql`insert into ${outboxTables[topic]} (id, aggregate_id, type, payload) ${event}`;

export class DrizzleOutboxWriter implements OutboxWriter {
  readonly #append: Record<OutboxTopic, SqlStatement<{ events: string }>>;

  constructor(
    private readonly tx: Transactions,
    private readonly newId: () => string,
  ) {
    this.#append = { order: appendTo(tx, "order"), coupon: appendTo(tx, "coupon") };
    tx.writeDeferredWith(async (rows) => {
      for (const topic of OUTBOX_TOPICS) {
        if (rows.some((deferred) => deferred.topic === topic)) {
          await this.#append[topic].run({ events: eventsOf(rows, topic) });
        }
      }
    });
  }

  /**
   * Inside a transaction the events are deferred to the next statement of the same level that carries them
   * (carriesOutboxEvents), else written just before COMMIT: they commit or roll back with the change all the
   * same. Outside one, written now.
   */
  async append<T extends OutboxTopic>(topic: T, ...events: NewOutboxEvent<T>[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((event) => ({
      id: this.newId(),
      aggregate_id: event.aggregateId,
      type: event.type,
      payload: event.payload,
    }));
    if (this.tx.defer(rows.map((row) => ({ topic, row })))) return;
    await this.#append[topic].run({ events: JSON.stringify(rows) });
  }
}

type EventRow = (typeof outboxTables)["order"]["$inferSelect"];

const toRecord = (row: EventRow): OutboxEventRecord => ({
  id: row.id,
  aggregateId: row.aggregateId,
  type: row.type,
  payload: row.payload,
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.nextAttemptAt,
  lastError: row.lastError,
  createdAt: row.createdAt,
  sentAt: row.sentAt,
});

/** What the admin endpoints and the backlog metrics read, and the admin's retry. */
export class DrizzleOutboxEventRepository implements OutboxEventRepository {
  constructor(private readonly tx: Transactions) {}

  /** Newest first; the page and its total come from one statement. */
  async list(topic: OutboxTopic, filter: EventFilter, page: PageRequest): Promise<Page<OutboxEventRecord>> {
    const table = tableOf(topic);
    const where = and(
      filter.status ? eq(table.status, filter.status) : undefined,
      filter.type ? eq(table.type, filter.type) : undefined,
      filter.aggregateId ? eq(table.aggregateId, filter.aggregateId) : undefined,
    );
    const rows = await this.tx.current
      .select({ ...getTableColumns(table), total: totalOfAll() })
      .from(table)
      .where(where)
      .orderBy(desc(table.seq))
      .limit(page.size)
      .offset(offsetOf(page));
    const events = await pageFrom(rows, page, { db: this.tx.current, table, where });
    return { ...events, items: events.items.map(toRecord) };
  }

  async find(topic: OutboxTopic, id: string): Promise<OutboxEventRecord | undefined> {
    const table = tableOf(topic);
    const [row] = await this.tx.current.select().from(table).where(eq(table.id, id));
    return row ? toRecord(row) : undefined;
  }

  async retry(topic: OutboxTopic, id: string): Promise<OutboxEventRecord | undefined> {
    const table = tableOf(topic);
    const [row] = await this.tx.current
      .update(table)
      .set({
        status: EVENT_TRANSITIONS.retry.to,
        attempts: 0,
        nextAttemptAt: sql`now()`,
        leaseOwner: null,
        leaseExpiresAt: null,
      })
      .where(and(eq(table.id, id), inArray(table.status, [...EVENT_TRANSITIONS.retry.from])))
      .returning();
    return row ? toRecord(row) : undefined;
  }

  /** One statement over the undelivered rows of both tables (their partial index), SENT rows never read. */
  async backlog(): Promise<Backlog[]> {
    const perTable = OUTBOX_TOPICS.map(
      (topic) => sql`
        select ${topic}::text as topic, status::text as status, count(*)::int as events,
          min(created_at) filter (where status in ${statusLiterals(UNDELIVERED_STATUSES)}) as oldest
        from ${outboxTables[topic]} where status <> 'SENT' group by status`,
    );
    const rows = rowsOf<{ topic: OutboxTopic; status: string; events: number; oldest: string | Date | null }>(
      await this.tx.current.execute(sql.join(perTable, sql` union all `)),
    );
    return OUTBOX_TOPICS.map((topic) => {
      const backlog: Backlog = {
        topic,
        counts: { PENDING: 0, PROCESSING: 0, FAILED: 0, ALERTED: 0 },
        oldestUndeliveredAt: null,
      };
      for (const row of rows.filter((r) => r.topic === topic)) {
        backlog.counts[row.status as keyof Backlog["counts"]] = Number(row.events);
        const oldest = row.oldest === null ? null : new Date(row.oldest);
        if (oldest && (!backlog.oldestUndeliveredAt || oldest < backlog.oldestUndeliveredAt)) {
          backlog.oldestUndeliveredAt = oldest;
        }
      }
      return backlog;
    });
  }
}

import type { PGlite } from "@electric-sql/pglite";
import { getTableName, sql } from "drizzle-orm";
import type { Sql } from "postgres";
import { EVENT_TRANSITIONS, type EventStatus } from "../../../domain/outbox/event-status";
import type {
  ClaimedEvent,
  ExpiredLease,
  FailedDelivery,
  OutboxQueue,
  OutboxTopic,
} from "../../../domain/outbox/ports";
import type { Database } from "../client";
import { outboxTables } from "../schema";

/**
 * A status list as SQL literals, not parameters: the partial indexes (`status in ('PENDING', 'FAILED')`,
 * `status <> 'SENT'`) are only usable when the planner can see the values, which a generic plan of a
 * prepared statement cannot. The values come from the status machine's table, never from input.
 */
const statusList = (list: readonly EventStatus[]) => `(${list.map((status) => `'${status}'`).join(", ")})`;

export const statusLiterals = (list: readonly EventStatus[]) => sql.raw(statusList(list));

/** One text parameter for a whole id list: the statement stays the same whatever the batch size. */
const uuidArray = (ids: string[]) => `{${ids.join(",")}}`;

const CLAIMABLE = statusList(EVENT_TRANSITIONS.claim.from);
const LEASE_LOST = "lease expired before the outcome was recorded (the relay holding it stopped or stalled)";

/** Rows this claim still holds: the fence of every write after the claim ($1 the ids, $2 the claim's token). */
const heldBy = (from: readonly EventStatus[]) =>
  `id = any($1::uuid[]) and lease_owner = $2::text and status in ${statusList(from)}`;

/**
 * The relay's statements for one table, written once as SQL text: the relay runs them for every batch, and
 * building them with the query builder each time cost more than the rest of its work on a batch. See the
 * OutboxQueue methods for what each guarantees.
 */
function statementsOf(table: string) {
  return {
    recoverExpiredLeases: `
      update ${table}
      set status = case when attempts >= $1::int then 'ALERTED' else 'FAILED' end::outbox_status,
          next_attempt_at = now(), last_error = $2::text,
          lease_owner = null, lease_expires_at = null
      where status in ${statusList(EVENT_TRANSITIONS.fail.from)} and lease_expires_at <= now()
      returning id, aggregate_id, type, attempts, status`,
    claim: `
      with due as (
        select e.id, e.aggregate_id, e.seq
        from ${table} e
        where e.status in ${CLAIMABLE} and e.next_attempt_at <= now()
          and not exists (
            select 1 from ${table} older
            where older.aggregate_id = e.aggregate_id and older.seq < e.seq and older.status <> 'SENT'
              and not (older.status in ${CLAIMABLE} and older.next_attempt_at <= now())
          )
        order by e.seq
        limit $2::int
        for update of e skip locked
      )
      update ${table} claimed
      set status = 'PROCESSING', lease_owner = $1::text,
          lease_expires_at = now() + make_interval(secs => $3::float8)
      from due
      where claimed.id = due.id
        and not exists (
          select 1 from ${table} older
          where older.aggregate_id = due.aggregate_id and older.seq < due.seq and older.status <> 'SENT'
            and older.id not in (select id from due)
        )
      returning claimed.id, claimed.aggregate_id, claimed.type, claimed.payload, claimed.created_at,
        claimed.attempts, claimed.seq`,
    startTries: `
      update ${table}
      set attempts = attempts + 1
      where ${heldBy(EVENT_TRANSITIONS.deliver.from)} and lease_expires_at > now()
      returning id`,
    markSent: `
      update ${table}
      set status = 'SENT', sent_at = now(), lease_owner = null, lease_expires_at = null
      where ${heldBy(EVENT_TRANSITIONS.deliver.from)}
      returning extract(epoch from now() - created_at)::float8 as latency`,
    markFailed: `
      update ${table}
      set status = outcome.status,
          next_attempt_at = coalesce(outcome.next_attempt_at, ${table}.next_attempt_at),
          last_error = outcome.last_error, lease_owner = null, lease_expires_at = null
      from jsonb_to_recordset($1::jsonb)
        as outcome(id uuid, status outbox_status, next_attempt_at timestamptz, last_error text)
      where ${table}.id = outcome.id and ${table}.lease_owner = $2::text
        and ${table}.status in ${statusList(EVENT_TRANSITIONS.fail.from)}
      returning ${table}.id`,
    release: `
      update ${table}
      set status = 'PENDING', next_attempt_at = now(), lease_owner = null, lease_expires_at = null
      where ${heldBy(EVENT_TRANSITIONS.release.from)}`,
  };
}

interface ClaimedRow {
  id: string;
  aggregate_id: string;
  type: string;
  payload: unknown;
  created_at: string | Date;
  attempts: number;
  seq: string | number | bigint;
}

type Run = <Row>(text: string, params: unknown[]) => Promise<Row[]>;

/**
 * Runs a statement as a prepared statement where the driver can: postgres.js keeps it prepared on each pooled
 * connection (parsed and planned once, then only bound and executed), which drizzle's `execute` does not ask
 * for. PGlite (embedded mode, one in-process session) runs it as it is.
 */
function runnerOf(db: Database): Run {
  const client = (db as unknown as { $client: unknown }).$client;
  if (typeof client === "function" && "unsafe" in client) {
    const postgres = client as Sql;
    return async <Row>(text: string, params: unknown[]) =>
      (await postgres.unsafe(text, params as never[], { prepare: true })) as unknown as Row[];
  }
  const pglite = client as PGlite;
  return async <Row>(text: string, params: unknown[]) => (await pglite.query<Row>(text, params)).rows;
}

/** The relay's statements; see OutboxQueue for what each guarantees. */
export class DrizzleOutboxQueue implements OutboxQueue {
  readonly #run: Run;
  readonly #statements: Record<OutboxTopic, ReturnType<typeof statementsOf>>;

  constructor(db: Database) {
    this.#run = runnerOf(db);
    this.#statements = {
      order: statementsOf(getTableName(outboxTables.order)),
      coupon: statementsOf(getTableName(outboxTables.coupon)),
    };
  }

  async recoverExpiredLeases(topic: OutboxTopic, maxAttempts: number): Promise<ExpiredLease[]> {
    const rows = await this.#run<{ id: string; aggregate_id: string; type: string; attempts: number; status: string }>(
      this.#statements[topic].recoverExpiredLeases,
      [maxAttempts, LEASE_LOST],
    );
    return rows.map((row) => ({
      id: row.id,
      aggregateId: row.aggregate_id,
      type: row.type,
      attempts: Number(row.attempts),
      status: row.status as ExpiredLease["status"],
    }));
  }

  /**
   * `due` takes the oldest claimable events whose older undelivered events (if any) are all claimable too,
   * so they can travel in this batch; a blocked aggregate (an older event in flight, backing off or ALERTED)
   * is left out before the LIMIT and cannot crowd the batch. SKIP LOCKED passes over rows another relay is
   * claiming right now; the final check then drops any event whose older sibling was skipped that way (or
   * claimed meanwhile), so no aggregate ever has events with two relays.
   */
  async claim(topic: OutboxTopic, token: string, limit: number, leaseMs: number): Promise<ClaimedEvent[]> {
    const rows = await this.#run<ClaimedRow>(this.#statements[topic].claim, [token, limit, leaseMs / 1000]);
    return rows
      .map((row) => ({
        id: row.id,
        aggregateId: row.aggregate_id,
        type: row.type,
        payload: row.payload,
        createdAt: new Date(row.created_at),
        attempts: Number(row.attempts),
        seq: Number(row.seq),
      }))
      .sort((a, b) => a.seq - b.seq);
  }

  async startTries(topic: OutboxTopic, token: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.#run<{ id: string }>(this.#statements[topic].startTries, [uuidArray(ids), token]);
    return rows.map((row) => row.id);
  }

  async markSent(topic: OutboxTopic, token: string, ids: string[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const rows = await this.#run<{ latency: number | string }>(this.#statements[topic].markSent, [
      uuidArray(ids),
      token,
    ]);
    return rows.map((row) => Number(row.latency));
  }

  async markFailed(topic: OutboxTopic, token: string, failures: FailedDelivery[]): Promise<string[]> {
    if (failures.length === 0) return [];
    const outcomes = failures.map((failure) => ({
      id: failure.id,
      status: failure.status,
      next_attempt_at: failure.status === "FAILED" ? failure.nextAttemptAt.toISOString() : null,
      last_error: failure.lastError,
    }));
    const rows = await this.#run<{ id: string }>(this.#statements[topic].markFailed, [JSON.stringify(outcomes), token]);
    return rows.map((row) => row.id);
  }

  async release(topic: OutboxTopic, token: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#run(this.#statements[topic].release, [uuidArray(ids), token]);
  }
}

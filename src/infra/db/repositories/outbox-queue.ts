import { sql } from "drizzle-orm";
import { EVENT_TRANSITIONS, type EventStatus } from "../../../domain/outbox/event-status";
import type {
  ClaimedEvent,
  ExpiredLease,
  FailedDelivery,
  OutboxQueue,
  OutboxTopic,
} from "../../../domain/outbox/ports";
import { type Database, rowsOf } from "../client";
import { outboxTables } from "../schema";

/**
 * A status list as SQL literals, not parameters: the partial indexes (`status in ('PENDING', 'FAILED')`,
 * `status <> 'SENT'`) are only usable when the planner can see the values, which a generic plan of a
 * prepared statement cannot. The values come from the status machine's table, never from input.
 */
export const statusLiterals = (list: readonly EventStatus[]) =>
  sql.raw(`(${list.map((status) => `'${status}'`).join(", ")})`);

/** One text parameter for a whole id list: the statement stays the same whatever the batch size. */
const uuidArray = (ids: string[]) => sql`${`{${ids.join(",")}}`}::uuid[]`;

/** Rows this claim still holds: the fence of every write after the claim. */
const heldBy = (token: string, ids: string[], from: readonly EventStatus[]) =>
  sql`id = any(${uuidArray(ids)}) and lease_owner = ${token} and status in ${statusLiterals(from)}`;

const CLAIMABLE = statusLiterals(EVENT_TRANSITIONS.claim.from);
const LEASE_LOST = "lease expired before the outcome was recorded (the relay holding it stopped or stalled)";

interface ClaimedRow {
  id: string;
  aggregate_id: string;
  type: string;
  payload: unknown;
  created_at: string | Date;
  attempts: number;
  seq: string | number | bigint;
}

/** The relay's statements; see OutboxQueue for what each guarantees. */
export class DrizzleOutboxQueue implements OutboxQueue {
  constructor(private readonly db: Database) {}

  async recoverExpiredLeases(topic: OutboxTopic, maxAttempts: number): Promise<ExpiredLease[]> {
    const table = outboxTables[topic];
    const rows = rowsOf<{ id: string; aggregate_id: string; type: string; attempts: number; status: string }>(
      await this.db.execute(sql`
        update ${table}
        set status = case when attempts >= ${maxAttempts} then 'ALERTED' else 'FAILED' end::outbox_status,
            next_attempt_at = now(), last_error = ${LEASE_LOST},
            lease_owner = null, lease_expires_at = null
        where status in ${statusLiterals(EVENT_TRANSITIONS.fail.from)} and lease_expires_at <= now()
        returning id, aggregate_id, type, attempts, status`),
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
    const table = outboxTables[topic];
    const rows = rowsOf<ClaimedRow>(
      await this.db.execute(sql`
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
          limit ${limit}
          for update of e skip locked
        )
        update ${table} claimed
        set status = 'PROCESSING', lease_owner = ${token},
            lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
        from due
        where claimed.id = due.id
          and not exists (
            select 1 from ${table} older
            where older.aggregate_id = due.aggregate_id and older.seq < due.seq and older.status <> 'SENT'
              and older.id not in (select id from due)
          )
        returning claimed.id, claimed.aggregate_id, claimed.type, claimed.payload, claimed.created_at,
          claimed.attempts, claimed.seq`),
    );
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
    const rows = rowsOf<{ id: string }>(
      await this.db.execute(sql`
        update ${outboxTables[topic]}
        set attempts = attempts + 1
        where ${heldBy(token, ids, EVENT_TRANSITIONS.deliver.from)} and lease_expires_at > now()
        returning id`),
    );
    return rows.map((row) => row.id);
  }

  async markSent(topic: OutboxTopic, token: string, ids: string[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const rows = rowsOf<{ latency: number | string }>(
      await this.db.execute(sql`
        update ${outboxTables[topic]}
        set status = 'SENT', sent_at = now(), lease_owner = null, lease_expires_at = null
        where ${heldBy(token, ids, EVENT_TRANSITIONS.deliver.from)}
        returning extract(epoch from now() - created_at)::float8 as latency`),
    );
    return rows.map((row) => Number(row.latency));
  }

  async markFailed(topic: OutboxTopic, token: string, failures: FailedDelivery[]): Promise<string[]> {
    if (failures.length === 0) return [];
    const table = outboxTables[topic];
    const outcomes = failures.map((failure) => ({
      id: failure.id,
      status: failure.status,
      next_attempt_at: failure.status === "FAILED" ? failure.nextAttemptAt.toISOString() : null,
      last_error: failure.lastError,
    }));
    const rows = rowsOf<{ id: string }>(
      await this.db.execute(sql`
        update ${table}
        set status = outcome.status,
            next_attempt_at = coalesce(outcome.next_attempt_at, ${table}.next_attempt_at),
            last_error = outcome.last_error, lease_owner = null, lease_expires_at = null
        from jsonb_to_recordset(${JSON.stringify(outcomes)}::jsonb)
          as outcome(id uuid, status outbox_status, next_attempt_at timestamptz, last_error text)
        where ${table}.id = outcome.id and ${table}.lease_owner = ${token}
          and ${table}.status in ${statusLiterals(EVENT_TRANSITIONS.fail.from)}
        returning ${table}.id`),
    );
    return rows.map((row) => row.id);
  }

  async release(topic: OutboxTopic, token: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.execute(sql`
      update ${outboxTables[topic]}
      set status = 'PENDING', next_attempt_at = now(), lease_owner = null, lease_expires_at = null
      where ${heldBy(token, ids, EVENT_TRANSITIONS.release.from)}`);
  }
}

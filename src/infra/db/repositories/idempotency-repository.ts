import { and, eq, isNull, lt, type SQL, sql } from "drizzle-orm";
import type {
  Claim,
  IdempotencyRecord,
  IdempotencyRepository,
  IdempotencyScope,
  KeyLook,
  StoredResponse,
} from "../../../domain/idempotency/ports";
import { rowsOf } from "../client";
import { fromRow } from "../rows";
import { idempotencyKeys } from "../schema";
import type { Transactions } from "../transactions";

const byId = (id: IdempotencyScope) =>
  and(
    eq(idempotencyKeys.scope, id.scope),
    eq(idempotencyKeys.method, id.method),
    eq(idempotencyKeys.path, id.path),
    eq(idempotencyKeys.key, id.key),
  );

const heldBy = (id: IdempotencyScope, claimToken: string) =>
  and(byId(id), eq(idempotencyKeys.claimToken, claimToken), isNull(idempotencyKeys.responseStatus));

/**
 * The key's transaction-scoped advisory lock, tried without waiting: whoever holds it has a transaction open
 * that may be writing the key's row. The lock's id is a 64-bit hash of the key (newlines cannot occur in any of
 * its parts); two live keys sharing one would only make one of them answer 409 for the other's transaction.
 */
const tryKeyLock = (id: IdempotencyScope) =>
  sql`pg_try_advisory_xact_lock(hashtextextended(${`${id.scope}\n${id.method}\n${id.path}\n${id.key}`}, 0))`;

const timestamp = (at: Date) => sql`${at.toISOString()}::timestamptz`;

/**
 * Who may write over a conflicting row: a key past its 24 h, or an abandoned in-flight request of the same body
 * (its lease ran out: its process died). A live row, answered or in flight, is never written over.
 */
const mayTakeOver = (now: Date) => sql`
  idempotency_keys.expires_at < ${timestamp(now)}
  or (idempotency_keys.response_status is null and idempotency_keys.locked_until < ${timestamp(now)}
    and idempotency_keys.request_hash = excluded.request_hash)`;

const toRecord = (row: Record<string, unknown>): IdempotencyRecord => {
  const key = fromRow(idempotencyKeys, row);
  const response =
    key.responseStatus === null
      ? undefined
      : { status: key.responseStatus, body: key.responseBody ?? "", headers: key.responseHeaders ?? {} };
  return { requestHash: key.requestHash, response, lockedUntil: key.lockedUntil, expiresAt: key.expiresAt };
};

export class DrizzleIdempotencyRepository implements IdempotencyRepository {
  constructor(private readonly tx: Transactions) {}

  async lockAndFind(id: IdempotencyScope): Promise<KeyLook> {
    const [row] = rowsOf<Record<string, unknown>>(
      // Writes nothing: not the transaction's own statement for hasWritten (see Transactions.currentWithoutWrites).
      await this.tx.currentWithoutWrites.execute(sql`
        select ${tryKeyLock(id)} as free, k.*
        from (select 1) as one
        left join ${idempotencyKeys} k
          on k.scope = ${id.scope} and k.method = ${id.method} and k.path = ${id.path} and k.key = ${id.key}`),
    );
    const free = row?.free === true || row?.free === "t";
    return { free, record: row?.request_hash == null ? undefined : toRecord(row) };
  }

  async claim(id: IdempotencyScope, claim: Claim): Promise<boolean> {
    // One statement decides the race: the key's lock (so a claim never waits for another request's open
    // transaction), then insert, or take over an expired key or an abandoned in-flight request.
    return this.#upsert(
      sql`with lock as (select ${tryKeyLock(id)} as free)
        insert into ${idempotencyKeys} (scope, method, path, key, request_hash, response_status, response_body,
          response_headers, locked_until, claim_token, created_at, expires_at)
        select ${id.scope}, ${id.method}, ${id.path}, ${id.key}, ${claim.requestHash}, null::int, null::text,
          null::jsonb, ${timestamp(claim.leaseUntil)}, ${claim.claimToken}, ${timestamp(claim.now)},
          ${timestamp(claim.expiresAt)}
        from lock where lock.free`,
      claim.now,
    );
  }

  async claimAnswered(
    id: IdempotencyScope,
    claim: Omit<Claim, "leaseUntil">,
    response: StoredResponse,
  ): Promise<boolean> {
    return this.#upsert(
      sql`insert into ${idempotencyKeys} (scope, method, path, key, request_hash, response_status, response_body,
          response_headers, locked_until, claim_token, created_at, expires_at)
        values (${id.scope}, ${id.method}, ${id.path}, ${id.key}, ${claim.requestHash}, ${response.status}::int,
          ${response.body}::text, ${JSON.stringify(response.headers)}::jsonb, null, ${claim.claimToken},
          ${timestamp(claim.now)}, ${timestamp(claim.expiresAt)})`,
      claim.now,
    );
  }

  async #upsert(insert: SQL, now: Date): Promise<boolean> {
    const rows = rowsOf(
      await this.tx.current.execute(sql`${insert}
        on conflict (scope, method, path, key) do update set
          request_hash = excluded.request_hash, response_status = excluded.response_status,
          response_body = excluded.response_body, response_headers = excluded.response_headers,
          locked_until = excluded.locked_until, claim_token = excluded.claim_token,
          created_at = excluded.created_at, expires_at = excluded.expires_at
        where ${mayTakeOver(now)}
        returning key`),
    );
    return rows.length === 1;
  }

  async find(id: IdempotencyScope): Promise<IdempotencyRecord | undefined> {
    const [row] = await this.tx.current.select().from(idempotencyKeys).where(byId(id));
    if (!row) return undefined;
    const response =
      row.responseStatus === null
        ? undefined
        : { status: row.responseStatus, body: row.responseBody ?? "", headers: row.responseHeaders ?? {} };
    return { requestHash: row.requestHash, response, lockedUntil: row.lockedUntil, expiresAt: row.expiresAt };
  }

  async complete(id: IdempotencyScope, claimToken: string, response: StoredResponse): Promise<boolean> {
    const rows = await this.tx.current
      .update(idempotencyKeys)
      .set({
        responseStatus: response.status,
        responseBody: response.body,
        responseHeaders: response.headers,
        lockedUntil: null,
      })
      .where(heldBy(id, claimToken))
      .returning({ key: idempotencyKeys.key });
    return rows.length === 1;
  }

  async release(id: IdempotencyScope, claimToken: string): Promise<void> {
    await this.tx.current.delete(idempotencyKeys).where(heldBy(id, claimToken));
  }

  async purgeExpired(now: Date): Promise<number> {
    const rows = await this.tx.current
      .delete(idempotencyKeys)
      .where(lt(idempotencyKeys.expiresAt, now))
      .returning({ key: idempotencyKeys.key });
    return rows.length;
  }
}

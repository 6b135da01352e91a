import { lt, type SQL, sql } from "drizzle-orm";
import type {
  Claim,
  IdempotencyRecord,
  IdempotencyRepository,
  IdempotencyScope,
  KeyLook,
  StoredResponse,
} from "../../../domain/idempotency/ports";
import { columnsOf, fromRow } from "../rows";
import { idempotencyKeys } from "../schema";
import { type Slots, SqlStatement } from "../statements";
import type { Transactions } from "../transactions";
import { carriesOutboxEvents } from "./outbox-repository";

/** A key's identity as a statement's parameters, and the text its advisory lock is hashed from. */
export type KeyParams = { scope: string; method: string; path: string; key: string };

export const keyParams = (id: IdempotencyScope): KeyParams => ({
  scope: id.scope,
  method: id.method,
  path: id.path,
  key: id.key,
});

/**
 * The key's transaction-scoped advisory lock, tried without waiting: whoever holds it has a transaction open
 * that may be writing the key's row. The lock's id is a 64-bit hash of the key (newlines cannot occur in any of
 * its parts); two live keys sharing one would only make one of them answer 409 for the other's transaction.
 * Hashed from the key's parameters in SQL, so the statement's text is one for every key.
 */
const tryKeyLock = ($: Slots<KeyParams>) =>
  sql`pg_try_advisory_xact_lock(hashtextextended(${$.scope}::text || E'\n' || ${$.method}::text || E'\n' || ${$.path}::text || E'\n' || ${$.key}::text, 0))`;

const sameKey = ($: Slots<KeyParams>, table = sql`${idempotencyKeys}`) =>
  sql`${table}.scope = ${$.scope} and ${table}.method = ${$.method} and ${table}.path = ${$.path} and ${table}.key = ${$.key}`;

/**
 * Who may write over a conflicting row: a key past its 24 h, or an abandoned in-flight request of the same body
 * (its lease ran out: its process died). A live row, answered or in flight, is never written over.
 */
const upsertWhenFree = (now: SQL, returning: SQL = sql`key`) => sql`
  on conflict (scope, method, path, key) do update set
    request_hash = excluded.request_hash, response_status = excluded.response_status,
    response_body = excluded.response_body, response_headers = excluded.response_headers,
    locked_until = excluded.locked_until, claim_token = excluded.claim_token,
    created_at = excluded.created_at, expires_at = excluded.expires_at
  where idempotency_keys.expires_at < ${now}
    or (idempotency_keys.response_status is null and idempotency_keys.locked_until < ${now}
      and idempotency_keys.request_hash = excluded.request_hash)
  returning ${returning}`;

/** upsertWhenFree at the statement's `now` parameter (the claim's time). */
const upsertTail = ($: Slots<{ now: string }>) => upsertWhenFree(sql`${$.now}::timestamptz`);

const toRecord = (row: Record<string, unknown>): IdempotencyRecord => {
  const key = fromRow(idempotencyKeys, row);
  const response =
    key.responseStatus === null
      ? undefined
      : { status: key.responseStatus, body: key.responseBody ?? "", headers: key.responseHeaders ?? {} };
  return { requestHash: key.requestHash, response, lockedUntil: key.lockedUntil, expiresAt: key.expiresAt };
};

/** The key's committed row as JSON (null when there is none): a value for a read to select as `key_row`. */
export const keyRow = ($: Slots<KeyParams>) =>
  sql`(select row_to_json(k) from ${idempotencyKeys} k where ${sameKey($, sql`k`)})`;

/**
 * The key's look as a CTE, `key_look` (one row: `key_free`, the lock tried; `key_row`, the key's committed row as
 * JSON, null when there is none), for a read that takes it in as the first statement of a keyed transaction (an
 * order's products: UnitOfWork.withKeyLook). Materialised: made once, whatever the read joins it to. The read's
 * snapshot is the look's, taken before the lock is tried, as `idempotency_lock_and_find`'s is (the answer's insert,
 * `claimAnswered`, is the fence against a request that committed in between).
 */
export const keyLookCte = ($: Slots<KeyParams>) => sql`
  key_look as materialized (
    select ${tryKeyLock($)} as key_free, ${keyRow($)} as key_row
  )`;

/** The record in a `key_row` a read selected (`keyRow`, `keyLookCte`). */
export function keyRecordOf(stored: unknown): IdempotencyRecord | undefined {
  if (stored === null || stored === undefined) return undefined;
  return toRecord(typeof stored === "string" ? JSON.parse(stored) : (stored as Record<string, unknown>));
}

/** What a row of a statement that took in `keyLookCte` (its `key_free`, `key_row`) says about the key. */
export function keyLookOf(row: { key_free: unknown; key_row: unknown } | undefined): KeyLook {
  const free = row?.key_free === true || row?.key_free === "t";
  const record = keyRecordOf(row?.key_row);
  return record ? { free, record } : { free };
}

type ClaimParams = KeyParams & {
  requestHash: string;
  claimToken: string;
  /** Timestamps as ISO text, cast in SQL: one form both drivers bind alike. */
  now: string;
  expiresAt: string;
};

/** A claim in flight as a statement's parameters (the claim's own, or those of a statement that carries it). */
export type KeyClaimParams = ClaimParams & { leaseUntil: string };

export const keyClaimParams = (id: IdempotencyScope, claim: Claim): KeyClaimParams => ({
  ...keyParams(id),
  requestHash: claim.requestHash,
  claimToken: claim.claimToken,
  now: claim.now.toISOString(),
  leaseUntil: claim.leaseUntil.toISOString(),
  expiresAt: claim.expiresAt.toISOString(),
});

/**
 * The claim of a key in flight as two CTEs, `key_lock` and `key_claimed` (one row when claimed), for a statement
 * to begin its WITH with: the key's lock, tried (so a claim never waits for another request's open
 * transaction), then insert, or take over an expired key or an abandoned in-flight request. A statement that
 * carries the claim makes its own work depend on `key_claimed`, so nothing else runs when the key is held.
 */
export const keyClaimCtes = ($: Slots<KeyClaimParams>) => sql`
  key_lock as (select ${tryKeyLock($)} as free),
  key_claimed as (
    insert into ${idempotencyKeys} (scope, method, path, key, request_hash, response_status, response_body,
      response_headers, locked_until, claim_token, created_at, expires_at)
    select ${$.scope}, ${$.method}, ${$.path}, ${$.key}, ${$.requestHash}, null::int, null::text, null::jsonb,
      ${$.leaseUntil}::timestamptz, ${$.claimToken}, ${$.now}::timestamptz, ${$.expiresAt}::timestamptz
    from key_lock where key_lock.free
    ${upsertTail($)}
  )`;

/** A key's answer as a statement's parameters (its own statement's, or those of a write that carries it). */
export type KeyAnswerParams = ClaimParams & { status: number; body: string; headers: string };

export const keyAnswerParams = (
  id: IdempotencyScope,
  claim: Omit<Claim, "leaseUntil">,
  response: StoredResponse,
): KeyAnswerParams => ({
  ...keyParams(id),
  requestHash: claim.requestHash,
  claimToken: claim.claimToken,
  now: claim.now.toISOString(),
  expiresAt: claim.expiresAt.toISOString(),
  status: response.status,
  body: response.body,
  headers: JSON.stringify(response.headers),
});

/**
 * The key's answer as a CTE, `key_answered` (one row when stored), for a write that carries it as its last part
 * (an order's statement: UnitOfWork.withKeyAnswer), inserted only if `gate` (that write's own CTE) has a row: the
 * same insert and conflict rule as `idempotency_claim_answered`, so a live row (another request's committed answer)
 * is never written over and the caller rolls back ("key lost").
 */
export const keyAnswerCte = ($: Slots<KeyAnswerParams>, gate: SQL) => sql`
  key_answered as (
    insert into ${idempotencyKeys} (scope, method, path, key, request_hash, response_status, response_body,
      response_headers, locked_until, claim_token, created_at, expires_at)
    select ${$.scope}, ${$.method}, ${$.path}, ${$.key}, ${$.requestHash}, ${$.status}::int, ${$.body}::text,
      ${$.headers}::jsonb, null::timestamptz, ${$.claimToken}, ${$.now}::timestamptz, ${$.expiresAt}::timestamptz
    where exists (select from ${gate})
    ${upsertTail($)}
  )`;

/**
 * The answers of a group of keyed orders (order-repository.ts, `order_place_group`) as a CTE, `group_keys_answered`
 * (one row per key stored: scope, method, path, key): each of `member`'s rows with a key (key_key not null) and
 * listed in `gate` (ord), inserted by `keyAnswerCte`'s own rule (upsertWhenFree), each member's `now` being its
 * row's created_at: a live row (another request's committed answer) is never written over, and that member's order
 * is then not placed by the group (it goes alone, where its key is lost as today).
 */
export const groupKeyAnswersCte = (member: string, gate: string) => {
  const members = sql.raw(member);
  return sql`
  group_keys_answered as (
    insert into ${idempotencyKeys} (scope, method, path, key, request_hash, response_status, response_body,
      response_headers, locked_until, claim_token, created_at, expires_at)
    select ${members}.key_scope, ${members}.key_method, ${members}.key_path, ${members}.key_key,
      ${members}.key_request_hash, ${members}.key_status, ${members}.key_body, ${members}.key_headers,
      null::timestamptz, ${members}.key_claim_token, ${members}.key_now, ${members}.key_expires_at
    from ${members}
    where ${members}.key_key is not null and ${members}.ord in (select ord from ${sql.raw(gate)})
    ${upsertWhenFree(sql`excluded.created_at`, sql`scope, method, path, key`)}
  )`;
};

/** The key's statements, built once (statements.ts): every keyed POST sends two or three of them. */
function hotStatements(tx: Transactions) {
  return {
    /** The lock, tried, and the key's committed row, in one statement that writes nothing. */
    lockAndFind: new SqlStatement<KeyParams, Record<string, unknown> & { free: boolean | string }>(
      "idempotency_lock_and_find",
      tx,
      ($) => sql`
        select ${tryKeyLock($)} as free, ${columnsOf(idempotencyKeys, "k")}
        from (select 1) as one
        left join ${idempotencyKeys} k on ${sameKey($, sql`k`)}`,
      // Writes nothing: not the transaction's own statement for hasWritten (see Transactions.currentWithoutWrites).
      { writesNothing: true },
    ),
    /** One statement decides the race (keyClaimCtes). */
    claim: new SqlStatement<KeyClaimParams>(
      "idempotency_claim",
      tx,
      ($) => sql`with ${keyClaimCtes($)} select key from key_claimed`,
    ),
    claimAnswered: new SqlStatement<KeyAnswerParams>(
      "idempotency_claim_answered",
      tx,
      ($) => sql`
        insert into ${idempotencyKeys} (scope, method, path, key, request_hash, response_status, response_body,
          response_headers, locked_until, claim_token, created_at, expires_at)
        values (${$.scope}, ${$.method}, ${$.path}, ${$.key}, ${$.requestHash}, ${$.status}::int, ${$.body}::text,
          ${$.headers}::jsonb, null, ${$.claimToken}, ${$.now}::timestamptz, ${$.expiresAt}::timestamptz)
        ${upsertTail($)}`,
      // The keyed transaction's last statement: events its request appended and no write carried ride on it.
      { carrier: carriesOutboxEvents },
    ),
    find: new SqlStatement<KeyParams>(
      "idempotency_find",
      tx,
      ($) => sql`select ${columnsOf(idempotencyKeys, "k")} from ${idempotencyKeys} k where ${sameKey($, sql`k`)}`,
    ),
    /** Stores the answer if `claimToken` still holds the key in flight. */
    complete: new SqlStatement<KeyParams & { claimToken: string; status: number; body: string; headers: string }>(
      "idempotency_complete",
      tx,
      ($) => sql`
        update ${idempotencyKeys}
        set response_status = ${$.status}::int, response_body = ${$.body}::text,
          response_headers = ${$.headers}::jsonb, locked_until = null
        where ${sameKey($)} and claim_token = ${$.claimToken} and response_status is null
        returning key`,
    ),
    release: new SqlStatement<KeyParams & { claimToken: string }>(
      "idempotency_release",
      tx,
      ($) => sql`
        delete from ${idempotencyKeys}
        where ${sameKey($)} and claim_token = ${$.claimToken} and response_status is null`,
    ),
  };
}

export class DrizzleIdempotencyRepository implements IdempotencyRepository {
  readonly #hot: ReturnType<typeof hotStatements>;

  constructor(private readonly tx: Transactions) {
    this.#hot = hotStatements(tx);
  }

  async lockAndFind(id: IdempotencyScope): Promise<KeyLook> {
    const [row] = await this.#hot.lockAndFind.run(keyParams(id));
    const free = row?.free === true || row?.free === "t";
    return { free, record: row?.request_hash == null ? undefined : toRecord(row) };
  }

  async claim(id: IdempotencyScope, claim: Claim): Promise<boolean> {
    const rows = await this.#hot.claim.run(keyClaimParams(id, claim));
    return rows.length === 1;
  }

  async claimAnswered(
    id: IdempotencyScope,
    claim: Omit<Claim, "leaseUntil">,
    response: StoredResponse,
  ): Promise<boolean> {
    const rows = await this.#hot.claimAnswered.run(keyAnswerParams(id, claim, response));
    return rows.length === 1;
  }

  async find(id: IdempotencyScope): Promise<IdempotencyRecord | undefined> {
    const [row] = await this.#hot.find.run(keyParams(id));
    return row && toRecord(row);
  }

  async complete(id: IdempotencyScope, claimToken: string, response: StoredResponse): Promise<boolean> {
    const rows = await this.#hot.complete.run({
      ...keyParams(id),
      claimToken,
      status: response.status,
      body: response.body,
      headers: JSON.stringify(response.headers),
    });
    return rows.length === 1;
  }

  async release(id: IdempotencyScope, claimToken: string): Promise<void> {
    await this.#hot.release.run({ ...keyParams(id), claimToken });
  }

  async purgeExpired(now: Date): Promise<number> {
    const rows = await this.tx.current
      .delete(idempotencyKeys)
      .where(lt(idempotencyKeys.expiresAt, now))
      .returning({ key: idempotencyKeys.key });
    return rows.length;
  }
}

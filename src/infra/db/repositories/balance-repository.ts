import { desc, eq, getTableColumns, type SQL, sql } from "drizzle-orm";
import type { Balance, BalanceChange, BalanceRepository, LedgerEntry } from "../../../domain/balances/ports";
import { offsetOf, type Page, type PageRequest } from "../../../domain/shared/paging";
import { pageFrom, totalOfAll } from "../paging";
import { balanceLedger, balances } from "../schema";
import { type Slots, SqlStatement, Statement } from "../statements";
import type { Transactions } from "../transactions";

interface BalanceRow {
  user_id: string;
  balance: string | number | bigint;
  version: number;
  updated_at: string | Date;
}

/** What a balance change writes: the row's delta and its ledger row, as SQL (parameters or other CTEs' columns). */
export interface BalanceChangeSql {
  userId: SQL;
  delta: SQL;
  type: SQL;
  referenceId: SQL;
  ledgerEntryId: SQL;
  /**
   * The balance the delta applies to, when the statement has locked the row in an earlier CTE (a payment's
   * start: `funded`): its value as locked. Else the row's own `balance`. An UPDATE computes its new row from the
   * statement's snapshot and checks balances_non_negative on it before it re-reads a row changed meanwhile, so a
   * debit decided on the locked row (a top-up committed while the statement waited) would fail that check.
   */
  current?: SQL;
}

/**
 * The update and its ledger row as two data-modifying CTEs, `updated` (the balance's row, as changed) and
 * `ledger`, for a statement to put in its WITH: the balance changes only if `condition` holds on its locked row.
 */
export const balanceChangeCtes = (change: BalanceChangeSql, condition: SQL) => sql`
  updated as (
    update ${balances}
    -- clock_timestamp(): the moment the row changed (after any lock wait), not the statement's start.
    set balance = ${change.current ?? sql`balance`} + ${change.delta}::bigint, version = version + 1, updated_at = clock_timestamp()
    where ${balances.userId} = ${change.userId} and ${condition}
    returning user_id, balance, version, updated_at
  ), ledger as (
    insert into ${balanceLedger} (id, user_id, type, amount, balance_after, balance_version, reference_id, created_at)
    select ${change.ledgerEntryId}, user_id, ${change.type}, ${change.delta}::bigint, balance, version,
      ${change.referenceId}, updated_at
    from updated
  )`;

/**
 * The update and its ledger row in one statement (a data-modifying CTE): atomic without an explicit
 * transaction, and the row lock is held for a single round trip, which is what a hot balance needs.
 */
const change =
  <Params extends BalanceChange>(condition: ($: Slots<Params>) => SQL) =>
  ($: Slots<Params>) =>
    sql`
  with ${balanceChangeCtes(
    {
      userId: sql`${$.userId}`,
      delta: sql`${$.delta}`,
      type: sql`${$.type}`,
      referenceId: sql`${$.referenceId}`,
      ledgerEntryId: sql`${$.ledgerEntryId}`,
    },
    condition($),
  )}
  select user_id, balance, version, updated_at from updated`;

type WithinBounds = BalanceChange & { min: number; max: number };
type IfVersion = BalanceChange & { expectedVersion: number };

/** The statements of charges and payments, built once (statements.ts). */
function hotStatements(tx: Transactions) {
  return {
    /** GET /balances/{userId}'s one statement, and a refused debit's look at the balance. */
    byUser: new Statement(
      "balance_by_user",
      tx,
      (db, $: Slots<{ userId: string }>) => db.select().from(balances).where(eq(balances.userId, $.userId)),
      // A read: a keyed charge refused after a lost race must still read as having written nothing (hasWritten).
      { writesNothing: true },
    ),
    changeWithinBounds: new SqlStatement<WithinBounds, BalanceRow>(
      "balance_change_within_bounds",
      tx,
      change<WithinBounds>(
        ($) => sql`${balances.balance} + ${$.delta}::bigint between ${$.min}::bigint and ${$.max}::bigint`,
      ),
      // The balance and its ledger row, or nothing: a refusal that waited for the row's lock gave the transaction
      // an id all the same, so it counts as a write only when it returned the row (see writesOnlyWithRows).
      { writesOnlyWithRows: true },
    ),
    changeIfVersion: new SqlStatement<IfVersion, BalanceRow>(
      "balance_change_if_version",
      tx,
      change<IfVersion>(($) => sql`${balances.version} = ${$.expectedVersion}::int`),
      { writesOnlyWithRows: true },
    ),
  };
}

const toBalance = (row: BalanceRow): Balance => ({
  // int8 comes back as text (postgres.js) or bigint (PGlite).
  userId: row.user_id,
  balance: Number(row.balance),
  version: Number(row.version),
  updatedAt: new Date(row.updated_at),
});

export class DrizzleBalanceRepository implements BalanceRepository {
  readonly #hot: ReturnType<typeof hotStatements>;

  constructor(private readonly tx: Transactions) {
    this.#hot = hotStatements(tx);
  }

  async open(userId: string): Promise<void> {
    await this.tx.current.insert(balances).values({ userId }).onConflictDoNothing();
  }

  /** One statement built once, on the pool or on the transaction that is open. */
  async find(userId: string): Promise<Balance | undefined> {
    const [row] = await this.#hot.byUser.run({ userId });
    return row;
  }

  async changeIfVersion(change: BalanceChange, expectedVersion: number): Promise<Balance | undefined> {
    const [row] = await this.#hot.changeIfVersion.run({ ...change, expectedVersion });
    return row && toBalance(row);
  }

  async changeWithinBounds(change: BalanceChange, min: number, max: number): Promise<Balance | undefined> {
    const [row] = await this.#hot.changeWithinBounds.run({ ...change, min, max });
    return row && toBalance(row);
  }

  /** Newest first by balance version; the page and its total come from one snapshot (one statement). */
  async listLedger(userId: string, page: PageRequest): Promise<Page<LedgerEntry>> {
    const where = eq(balanceLedger.userId, userId);
    const rows = await this.tx.current
      .select({ ...getTableColumns(balanceLedger), total: totalOfAll() })
      .from(balanceLedger)
      .where(where)
      .orderBy(desc(balanceLedger.balanceVersion))
      .limit(page.size)
      .offset(offsetOf(page));
    return pageFrom(rows, page, { db: this.tx.current, table: balanceLedger, where });
  }
}

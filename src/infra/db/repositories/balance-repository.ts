import { desc, eq, getTableColumns, type SQL, sql } from "drizzle-orm";
import type { Balance, BalanceChange, BalanceRepository, LedgerEntry } from "../../../domain/balances/ports";
import { offsetOf, type Page, type PageRequest } from "../../../domain/shared/paging";
import { rowsOf } from "../client";
import { pageFrom, totalOfAll } from "../paging";
import { balanceLedger, balances } from "../schema";
import type { Transactions } from "../transactions";

interface BalanceRow {
  user_id: string;
  balance: string | number | bigint;
  version: number;
  updated_at: string | Date;
}

export class DrizzleBalanceRepository implements BalanceRepository {
  /** GET /balances/{userId}'s one statement, built once (see `find`). */
  #findPrepared: ReturnType<typeof this.buildFind> | undefined;

  constructor(private readonly tx: Transactions) {}

  private buildFind() {
    return this.tx.current
      .select()
      .from(balances)
      .where(eq(balances.userId, sql.placeholder("userId")))
      .prepare("balance_by_user");
  }

  async open(userId: string): Promise<void> {
    await this.tx.current.insert(balances).values({ userId }).onConflictDoNothing();
  }

  /**
   * Outside a transaction (the balance read, the first look of a charge) one prepared statement: the query is
   * built and named once per process, and each call only binds the id (postgres.js keeps it prepared on every
   * connection, so the server plans it once per connection too). Inside one, the transaction's own session.
   */
  async find(userId: string): Promise<Balance | undefined> {
    if (this.tx.inTransaction()) {
      const [row] = await this.tx.current.select().from(balances).where(eq(balances.userId, userId));
      return row;
    }
    this.#findPrepared ??= this.buildFind();
    const [row] = await this.#findPrepared.execute({ userId });
    return row;
  }

  changeIfVersion(change: BalanceChange, expectedVersion: number): Promise<Balance | undefined> {
    return this.#change(change, sql`${balances.version} = ${expectedVersion}`);
  }

  changeWithinBounds(change: BalanceChange, min: number, max: number): Promise<Balance | undefined> {
    return this.#change(change, sql`${balances.balance} + ${change.delta} between ${min} and ${max}`);
  }

  /**
   * The update and its ledger row in one statement (a data-modifying CTE): atomic without an explicit
   * transaction, and the row lock is held for a single round trip, which is what a hot balance needs.
   */
  async #change(change: BalanceChange, condition: SQL): Promise<Balance | undefined> {
    const result = await this.tx.current.execute(sql`
      with updated as (
        update ${balances}
        -- clock_timestamp(): the moment the row changed (after any lock wait), not the statement's start.
        set balance = balance + ${change.delta}, version = version + 1, updated_at = clock_timestamp()
        where ${balances.userId} = ${change.userId} and ${condition}
        returning user_id, balance, version, updated_at
      ), ledger as (
        insert into ${balanceLedger} (id, user_id, type, amount, balance_after, balance_version, reference_id, created_at)
        select ${change.ledgerEntryId}, user_id, ${change.type}, ${change.delta}, balance, version, ${change.referenceId}, updated_at
        from updated
      )
      select user_id, balance, version, updated_at from updated`);
    // int8 comes back as text (postgres.js) or bigint (PGlite).
    const [row] = rowsOf<BalanceRow>(result);
    if (!row) return undefined;
    return {
      userId: row.user_id,
      balance: Number(row.balance),
      version: Number(row.version),
      updatedAt: new Date(row.updated_at),
    };
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

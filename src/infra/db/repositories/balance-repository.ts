import { and, count, desc, eq, sql } from "drizzle-orm";
import type { Balance, BalanceRepository, LedgerEntry } from "../../../domain/balances/ports";
import { offsetOf, type Page, type PageRequest } from "../../../domain/shared/paging";
import { balanceLedger, balances } from "../schema";
import type { Transactions } from "../transactions";

export class DrizzleBalanceRepository implements BalanceRepository {
  constructor(private readonly tx: Transactions) {}

  async open(userId: string): Promise<void> {
    await this.tx.current.insert(balances).values({ userId }).onConflictDoNothing();
  }

  async find(userId: string, options: { lockRow?: boolean } = {}): Promise<Balance | undefined> {
    const query = this.tx.current.select().from(balances).where(eq(balances.userId, userId));
    const [row] = options.lockRow ? await query.for("update") : await query;
    return row;
  }

  async updateIfVersion(userId: string, expectedVersion: number, newBalance: number): Promise<Balance | undefined> {
    const [row] = await this.tx.current
      .update(balances)
      .set({ balance: newBalance, version: sql`${balances.version} + 1`, updatedAt: sql`now()` })
      .where(and(eq(balances.userId, userId), eq(balances.version, expectedVersion)))
      .returning();
    return row;
  }

  async appendLedger(entry: LedgerEntry): Promise<void> {
    await this.tx.current.insert(balanceLedger).values(entry);
  }

  async listLedger(userId: string, page: PageRequest): Promise<Page<LedgerEntry>> {
    const where = eq(balanceLedger.userId, userId);
    const [items, [totals]] = await Promise.all([
      this.tx.current
        .select()
        .from(balanceLedger)
        .where(where)
        .orderBy(desc(balanceLedger.createdAt), desc(balanceLedger.id))
        .limit(page.size)
        .offset(offsetOf(page)),
      this.tx.current.select({ total: count() }).from(balanceLedger).where(where),
    ]);
    return { items, ...page, total: totals?.total ?? 0 };
  }
}

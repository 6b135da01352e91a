import { count, type SQL, sql } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { Page, PageRequest } from "../../domain/shared/paging";
import type { Database } from "./client";

/** Select as `total`: every row of a page then carries the size of the whole result, from the same snapshot. */
export const totalOfAll = () => sql<number>`count(*) over ()`.mapWith(Number);

/** A page of rows selected with `total: totalOfAll()`; past the last page no row carries it, so it is counted. */
export async function pageFrom<Row extends { total: number }>(
  rows: Row[],
  page: PageRequest,
  countAll: { db: Database; table: PgTable; where: SQL | undefined },
): Promise<Page<Omit<Row, "total">>> {
  const total =
    rows[0]?.total ??
    (page.page > 1
      ? ((await countAll.db.select({ total: count() }).from(countAll.table).where(countAll.where))[0]?.total ?? 0)
      : 0);
  return { items: rows.map(({ total: _total, ...item }) => item), ...page, total };
}

import { getTableColumns, type InferSelectModel, type SQL, sql, type Table } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";

/**
 * A row of `table` as a raw statement returns it (snake_case column names, driver values: int8 as text,
 * timestamps as text) mapped exactly as drizzle maps its own query results. For the hot statements written
 * as one data-modifying CTE, which the query builder cannot express, so they need not read their rows back.
 */
/** The name a raw statement's row gives each column of `table` (what fromRow reads). */
const rowNameOf = (key: string, column: { keyAsName: boolean; name: string }) =>
  column.keyAsName ? toSnakeCase(key) : column.name;

/**
 * Every column of `table` as `from`'s columns, named: the select list of a statement built once whose rows come
 * from a CTE over `table` (`select ${columnsOf(orders, "placed")} from placed`), never `placed.*`. A prepared
 * statement's result is fixed when it is prepared: with `*`, a column added by a migration while this release
 * runs would change it, and PostgreSQL refuses to run it again ("cached plan must not change result type"),
 * which postgres.js cannot retry inside a transaction.
 */
export function columnsOf(table: Table, from: string): SQL {
  return sql.raw(
    Object.entries(getTableColumns(table))
      .map(([key, column]) => `${from}."${rowNameOf(key, column)}"`)
      .join(", "),
  );
}

export function fromRow<T extends Table>(table: T, row: Record<string, unknown>): InferSelectModel<T> {
  const mapped: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = row[rowNameOf(key, column)];
    mapped[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return mapped as InferSelectModel<T>;
}

import { type Column, getTableColumns, type InferSelectModel, type SQL, sql, type Table } from "drizzle-orm";
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

/** A table's columns as fromRow reads them: its key, the name a raw row gives it, and the column (its decoder). */
type RowColumn = readonly [key: string, rowName: string, column: Column];

/**
 * Computed once per table (issue 18: the names' casing, converted with a regular expression per column per row,
 * was most of fromRow's CPU on the checkout path); tables are module constants, so this never grows past them.
 */
const rowColumnsByTable = new WeakMap<Table, readonly RowColumn[]>();

function rowColumnsOf(table: Table): readonly RowColumn[] {
  let found = rowColumnsByTable.get(table);
  if (!found) {
    found = Object.entries(getTableColumns(table)).map(([key, column]) => [key, rowNameOf(key, column), column]);
    rowColumnsByTable.set(table, found);
  }
  return found;
}

export function fromRow<T extends Table>(table: T, row: Record<string, unknown>): InferSelectModel<T> {
  const mapped: Record<string, unknown> = {};
  for (const [key, rowName, column] of rowColumnsOf(table)) {
    const value = row[rowName];
    mapped[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return mapped as InferSelectModel<T>;
}

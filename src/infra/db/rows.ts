import { getTableColumns, type InferSelectModel, type Table } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";

/**
 * A row of `table` as a raw statement returns it (snake_case column names, driver values: int8 as text,
 * timestamps as text) mapped exactly as drizzle maps its own query results. For the hot statements written
 * as one data-modifying CTE, which the query builder cannot express, so they need not read their rows back.
 */
export function fromRow<T extends Table>(table: T, row: Record<string, unknown>): InferSelectModel<T> {
  const mapped: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = row[column.keyAsName ? toSnakeCase(key) : column.name];
    mapped[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return mapped as InferSelectModel<T>;
}

import { index, integer, jsonb, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { at } from "./columns";

/**
 * One row per (caller, method, path, key). `responseStatus` is null while the first request is in flight;
 * `lockedUntil` lets a later request take over a key whose process died mid-request.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    scope: text().notNull(),
    method: text().notNull(),
    path: text().notNull(),
    key: text().notNull(),
    requestHash: text().notNull(),
    responseStatus: integer(),
    // Kept as text so a replay is byte-for-byte what the first request answered.
    responseBody: text(),
    responseHeaders: jsonb().$type<Record<string, string>>(),
    lockedUntil: at(),
    /** Fencing token of the request holding the key: only it may store the response. */
    claimToken: text(),
    createdAt: at().notNull().defaultNow(),
    expiresAt: at().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.method, t.path, t.key] }),
    index("idempotency_keys_expires").on(t.expiresAt),
  ],
);

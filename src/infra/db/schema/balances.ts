import { sql } from "drizzle-orm";
import { bigint, check, index, integer, pgEnum, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { users } from "./users";

/** Balances stay far below 2^53, so `bigint` columns are read as JS numbers. */
const krw = () => bigint({ mode: "number" });

export const balances = pgTable(
  "balances",
  {
    userId: uuid()
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    balance: krw().notNull().default(0),
    version: integer().notNull().default(0),
    updatedAt: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [check("balances_non_negative", sql`${t.balance} >= 0`)],
);

export const ledgerEntryType = pgEnum("ledger_entry_type", ["CHARGE", "PAYMENT", "REFUND"]);

/** Append-only: every change of a balance writes one row in the same transaction. */
export const balanceLedger = pgTable(
  "balance_ledger",
  {
    id: uuid().primaryKey(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: ledgerEntryType().notNull(),
    amount: krw().notNull(),
    balanceAfter: krw().notNull(),
    referenceId: text(),
    createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index("balance_ledger_user_created").on(t.userId, t.createdAt.desc(), t.id.desc())],
);

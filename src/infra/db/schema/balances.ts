import { sql } from "drizzle-orm";
import { check, integer, pgEnum, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { at, krw } from "./columns";
import { users } from "./users";

export const balances = pgTable(
  "balances",
  {
    userId: uuid()
      .primaryKey()
      .references(() => users.id, { onDelete: "cascade" }),
    balance: krw().notNull().default(0),
    version: integer().notNull().default(0),
    updatedAt: at().notNull().defaultNow(),
  },
  (t) => [
    check("balances_non_negative", sql`${t.balance} >= 0`),
    // No upper bound here: the 1,000,000,000 cap bounds top-ups only (BalanceService); a refund or a REVERSAL
    // credits past it, and a check on the row would refuse them and hold the buyer's money forever.
  ],
);

/**
 * CHARGE and REFUND credit, PAYMENT debits; REVERSAL gives back the debit of a payment that failed (declined,
 * or never received by the gateway), referencing that payment: the buyer was never charged, so it is no refund.
 */
export const ledgerEntryType = pgEnum("ledger_entry_type", ["CHARGE", "PAYMENT", "REFUND", "REVERSAL"]);

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
    /** The balance's version after this entry: orders the ledger exactly as the balance moved, gap-free. */
    balanceVersion: integer().notNull(),
    referenceId: text(),
    createdAt: at().notNull().defaultNow(),
  },
  (t) => [
    // Serves the ledger listing (newest first) as well as uniqueness.
    uniqueIndex("balance_ledger_user_version").on(t.userId, t.balanceVersion),
  ],
);

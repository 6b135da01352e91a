import type { Page, PageRequest } from "../shared/paging";

/** REVERSAL: the debit of a payment that failed, given back (referencing that payment; not a refund). */
export type LedgerEntryType = "CHARGE" | "PAYMENT" | "REFUND" | "REVERSAL";

export interface Balance {
  userId: string;
  balance: number;
  version: number;
  updatedAt: Date;
}

export interface LedgerEntry {
  id: string;
  userId: string;
  type: LedgerEntryType;
  /** Signed: credits are positive, debits negative. */
  amount: number;
  balanceAfter: number;
  /** The balance's version this entry produced (1, 2, 3, … per user, no gaps). */
  balanceVersion: number;
  referenceId: string | null;
  createdAt: Date;
}

/** One movement of money: the balance update and its ledger row are written by one statement. */
export interface BalanceChange {
  userId: string;
  delta: number;
  type: LedgerEntryType;
  referenceId: string | null;
  ledgerEntryId: string;
}

export interface BalanceRepository {
  /** Creates the empty balance of a new user. */
  open(userId: string): Promise<void>;
  find(userId: string): Promise<Balance | undefined>;
  /** `UPDATE … WHERE version = expectedVersion` + ledger row; undefined when another writer got there first. */
  changeIfVersion(change: BalanceChange, expectedVersion: number): Promise<Balance | undefined>;
  /**
   * `UPDATE … SET balance = balance + delta WHERE balance + delta BETWEEN min AND max` + ledger row: the row
   * lock orders concurrent writers. Undefined when the result would leave the bounds (or there is no balance).
   */
  changeWithinBounds(change: BalanceChange, min: number, max: number): Promise<Balance | undefined>;
  listLedger(userId: string, page: PageRequest): Promise<Page<LedgerEntry>>;
}

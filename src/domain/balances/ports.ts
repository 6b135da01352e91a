import type { Page, PageRequest } from "../shared/paging";

export type LedgerEntryType = "CHARGE" | "PAYMENT" | "REFUND";

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
  referenceId: string | null;
  createdAt: Date;
}

export interface BalanceRepository {
  /** Creates the empty balance of a new user. */
  open(userId: string): Promise<void>;
  find(userId: string, options?: { lockRow?: boolean }): Promise<Balance | undefined>;
  /** `UPDATE … WHERE version = expectedVersion`; undefined when another writer got there first. */
  updateIfVersion(userId: string, expectedVersion: number, newBalance: number): Promise<Balance | undefined>;
  appendLedger(entry: LedgerEntry): Promise<void>;
  listLedger(userId: string, page: PageRequest): Promise<Page<LedgerEntry>>;
}

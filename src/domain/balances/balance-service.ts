import type { Clock } from "../shared/clock";
import { DomainError } from "../shared/errors";
import type { Page, PageRequest } from "../shared/paging";
import { assertActsFor } from "../users/access";
import type { Actor } from "../users/user";
import type { Balance, BalanceChange, BalanceRepository, LedgerEntry, LedgerEntryType } from "./ports";

/**
 * The most a top-up (CHARGE) may take a balance to. It bounds what a buyer puts in, never what the shop owes
 * back: a REFUND or a REVERSAL credits past it (refusing one would hold the buyer's money forever), and the
 * next CHARGE of such a balance is refused until it is spent below the cap.
 */
export const MAX_BALANCE = 1_000_000_000;
export const MAX_CHARGE = 10_000_000;
/** Optimistic tries before a writer lets the row lock order it instead; either way the change lands. */
const OPTIMISTIC_ATTEMPTS = 3;
/** A guarded update refused at the bounds is re-checked this often before the refusal stands. */
const BOUNDED_ATTEMPTS = 3;

interface BalanceServiceDeps {
  balances: BalanceRepository;
  newId: () => string;
  /** Pause before retrying a lost optimistic race (jitteredBackoff); injected so the container can count retries. */
  backoff: (attempt: number) => Promise<void>;
}

export class BalanceService {
  constructor(private readonly deps: BalanceServiceDeps) {}

  async charge(actor: Actor, userId: string, amount: number): Promise<Balance> {
    assertActsFor(actor, userId);
    if (!Number.isSafeInteger(amount) || amount < 1 || amount > MAX_CHARGE) {
      throw new DomainError("VALIDATION_FAILED", `amount must be an integer from 1 to ${MAX_CHARGE}`, [
        { path: "amount", message: `must be an integer from 1 to ${MAX_CHARGE}` },
      ]);
    }
    return this.applyChange(userId, amount, "CHARGE", null);
  }

  async getBalance(actor: Actor, userId: string): Promise<Balance> {
    assertActsFor(actor, userId);
    return this.#find(userId);
  }

  async listLedger(actor: Actor, userId: string, page: PageRequest): Promise<Page<LedgerEntry>> {
    await this.getBalance(actor, userId);
    return this.deps.balances.listLedger(userId, page);
  }

  /**
   * Moves money in or out of a balance; the ledger row is written by the same statement.
   * First optimistically: read the version, check the limits, `UPDATE … WHERE version = v`. A writer that
   * keeps losing races then sends one guarded relative update, which the row lock orders behind the others,
   * so heavy contention costs latency, never a failed or lost change. Joins the caller's transaction, so
   * payments and refunds commit the ledger together with their own rows.
   */
  async applyChange(
    userId: string,
    delta: number,
    type: LedgerEntryType,
    referenceId: string | null,
  ): Promise<Balance> {
    const change: BalanceChange = { userId, delta, type, referenceId, ledgerEntryId: this.deps.newId() };
    for (let attempt = 1; attempt <= OPTIMISTIC_ATTEMPTS; attempt++) {
      const current = await this.#find(userId);
      assertWithinLimits(current.balance, delta, type);
      const updated = await this.deps.balances.changeIfVersion(change, current.version);
      if (updated) return updated;
      await this.deps.backoff(attempt);
    }
    for (let attempt = 1; attempt <= BOUNDED_ATTEMPTS; attempt++) {
      const updated = await this.deps.balances.changeWithinBounds(change, 0, ceilingOf(type));
      if (updated) return updated;
      // Refused at the bounds: say why, unless a concurrent change has made room meanwhile.
      assertWithinLimits((await this.#find(userId)).balance, delta, type);
    }
    throw new Error(`balance of ${userId} kept moving across its bounds; change of ${delta} not applied`);
  }

  async #find(userId: string): Promise<Balance> {
    const balance = await this.deps.balances.find(userId);
    if (!balance) throw new DomainError("USER_NOT_FOUND", `No user ${userId}`);
    return balance;
  }
}

/** Only a top-up is capped; money given back (REFUND, REVERSAL) and debits are bounded by zero alone. */
const ceilingOf = (type: LedgerEntryType) => (type === "CHARGE" ? MAX_BALANCE : Number.MAX_SAFE_INTEGER);

function assertWithinLimits(balance: number, delta: number, type: LedgerEntryType): void {
  const next = balance + delta;
  if (next < 0) {
    throw new DomainError("INSUFFICIENT_BALANCE", `Balance ${balance} KRW is less than ${-delta} KRW`);
  }
  if (next > ceilingOf(type)) {
    throw new DomainError(
      "BALANCE_LIMIT_EXCEEDED",
      `A balance may not exceed ${MAX_BALANCE} KRW (now ${balance}, adding ${delta})`,
    );
  }
}

/** Up to 2, 4, 8 ms: long enough to let the winner commit, short enough that a hot balance stays fast. */
export const jitteredBackoff = (attempt: number, clock: Clock) => clock.sleep(Math.random() * 2 ** attempt);

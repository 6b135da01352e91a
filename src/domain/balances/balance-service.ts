import { DomainError } from "../shared/errors";
import type { Page, PageRequest } from "../shared/paging";
import type { UnitOfWork } from "../shared/unit-of-work";
import { assertActsFor } from "../users/access";
import type { Actor } from "../users/user";
import type { Balance, BalanceRepository, LedgerEntry, LedgerEntryType } from "./ports";

export const MAX_BALANCE = 1_000_000_000;
export const MAX_CHARGE = 10_000_000;
/** Optimistic tries before a writer falls back to locking the row; either way the change lands. */
const OPTIMISTIC_ATTEMPTS = 3;

interface BalanceServiceDeps {
  balances: BalanceRepository;
  unitOfWork: UnitOfWork;
  newId: () => string;
  /** Pause before retrying a lost optimistic race; injected so tests can count retries. */
  backoff?: (attempt: number) => Promise<void>;
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
    const balance = await this.deps.balances.find(userId);
    if (!balance) throw new DomainError("USER_NOT_FOUND", `No user ${userId}`);
    return balance;
  }

  async listLedger(actor: Actor, userId: string, page: PageRequest): Promise<Page<LedgerEntry>> {
    await this.getBalance(actor, userId);
    return this.deps.balances.listLedger(userId, page);
  }

  /**
   * Moves money in or out of a balance and writes the ledger row in the same transaction.
   * A conditional `UPDATE … WHERE version = v` decides races; after a few lost races the writer takes
   * the row lock instead, so heavy contention costs latency, never a failed charge.
   * Joins the caller's transaction, so payments and refunds commit the ledger with their own rows.
   */
  async applyChange(
    userId: string,
    delta: number,
    type: LedgerEntryType,
    referenceId: string | null,
  ): Promise<Balance> {
    for (let attempt = 1; attempt <= OPTIMISTIC_ATTEMPTS; attempt++) {
      const applied = await this.deps.unitOfWork.withTransaction(() =>
        this.#tryApply(userId, delta, type, referenceId, false),
      );
      if (applied) return applied;
      await (this.deps.backoff ?? jitteredBackoff)(attempt);
    }
    const applied = await this.deps.unitOfWork.withTransaction(() =>
      this.#tryApply(userId, delta, type, referenceId, true),
    );
    if (!applied) throw new Error(`balance of ${userId} changed while its row was locked`);
    return applied;
  }

  async #tryApply(
    userId: string,
    delta: number,
    type: LedgerEntryType,
    referenceId: string | null,
    lockRow: boolean,
  ): Promise<Balance | undefined> {
    const current = await this.deps.balances.find(userId, { lockRow });
    if (!current) throw new DomainError("USER_NOT_FOUND", `No user ${userId}`);
    const next = current.balance + delta;
    if (next < 0) {
      throw new DomainError("INSUFFICIENT_BALANCE", `Balance ${current.balance} KRW is less than ${-delta} KRW`);
    }
    if (next > MAX_BALANCE) {
      throw new DomainError(
        "BALANCE_LIMIT_EXCEEDED",
        `A balance may not exceed ${MAX_BALANCE} KRW (now ${current.balance}, adding ${delta})`,
      );
    }
    const updated = await this.deps.balances.updateIfVersion(userId, current.version, next);
    if (!updated) return undefined;
    await this.deps.balances.appendLedger({
      id: this.deps.newId(),
      userId,
      type,
      amount: delta,
      balanceAfter: next,
      referenceId,
      createdAt: updated.updatedAt,
    });
    return updated;
  }
}

/** Up to 2, 4, 8 ms: long enough to let the winner commit, short enough that a hot balance stays fast. */
export const jitteredBackoff = (attempt: number) => Bun.sleep(Math.random() * 2 ** attempt);

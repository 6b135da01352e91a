import type { Claim, IdempotencyScope } from "../idempotency/ports";

/**
 * A step that must commit with the first of a request's work (an Idempotency-Key's claim): see
 * UnitOfWork.withOpening. `committed` turns true once a transaction that began with it has committed.
 */
export interface OpeningStep {
  run(): Promise<void>;
  committed: boolean;
  /**
   * Set when a statement sent on its own that carried the step's claim (withStatementTaking) failed without saying
   * whether it claimed: it may have committed before its answer was lost (a connection lost at its end). The claim
   * is then in doubt, neither known made nor known not made.
   */
  inDoubt?: boolean;
  /**
   * The step as an Idempotency-Key's claim, for a statement that can take it in itself (see
   * UnitOfWork.withTransactionTaking): what it claims as of now, and what follows from whether that statement
   * claimed it (`settle(false)` throws, as `run()` does when the key is held).
   */
  claim?: {
    terms(): { id: IdempotencyScope; claim: Claim };
    settle(claimed: boolean): void;
  };
}

export type IsolationLevel = "read committed" | "repeatable read" | "serializable";

/** Runs work in one database transaction, joining the caller's when one is already open. */
export interface UnitOfWork {
  withTransaction<T>(work: () => Promise<T>, isolationLevel?: IsolationLevel): Promise<T>;
  /**
   * Runs `hook` once the work it belongs to is committed for good: after the outermost transaction
   * commits (before that transaction's caller continues), never if it rolls back; at once outside any
   * transaction. For side effects that must not see uncommitted data, such as cache invalidation.
   */
  afterCommit(hook: () => Promise<void> | void): Promise<void> | void;
  /**
   * Registers the undoing of a side effect outside the database (a Redis claim, say) made for the open
   * transaction: it runs if that transaction, or the savepoint it was registered in, rolls back, and is
   * dropped when the outermost transaction commits. Outside a transaction there is nothing left to roll
   * back, so it is dropped at once. Compensations handle (and report) their own failures.
   */
  onRollback(compensation: () => Promise<void>): void;
  /** Whether work runs inside a transaction now (whose commit it must wait for). */
  inTransaction(): boolean;
  /**
   * Whether the open transaction may have written (or locked) anything so far: false means whatever ran in it
   * had no effect on the database (nothing ran, only reads, or every statement ran in savepoints that rolled
   * back). A rolled-back savepoint's write counts when the transaction also ran statements of its own or kept
   * a savepoint (conservative: PostgreSQL cannot tell those apart). False outside a transaction.
   */
  hasWritten(): Promise<boolean>;
  /**
   * Runs `work` so that the first transaction it opens (not a savepoint) begins with `step.run()`, which then
   * commits with that transaction's work or not at all; if that transaction rolls back, the next one `work`
   * opens begins with the step again. An error thrown by the step rolls its transaction back like any other.
   */
  withOpening<T>(step: OpeningStep, work: () => Promise<T>): Promise<T>;
  /**
   * `withTransaction` for work whose first statement can do the opening step's work itself (a payment's start
   * claims its key in the same statement): if this transaction is the one to begin with the step, the step is
   * handed to `work` instead of run before it, and `work` must see it done first (`run()` it, or `settle` its
   * claim from the statement that made it), exactly as withOpening would have. Undefined when there is none.
   */
  withTransactionTaking<T>(work: (opening: OpeningStep | undefined) => Promise<T>): Promise<T>;
  /**
   * For `work` that sends one statement, all or nothing by itself (a data-modifying CTE): sent on its own, outside
   * any transaction, so it commits by itself (no BEGIN and no COMMIT round trip), when it is the whole of its
   * transaction: none is open and no opening step is waiting to commit. Otherwise as `withTransaction` (inside an
   * open transaction, a savepoint of it; with an opening step to commit, a transaction that begins with it).
   */
  withStatement<T>(work: () => Promise<T>): Promise<T>;
  /**
   * `withStatement` for a statement that takes in the opening step's claim itself (as withTransactionTaking): with
   * no transaction open and a waiting step that offers a `claim`, `work` gets the step and sends its statement on
   * its own; `settle(true)` then marks the step committed (the statement committed it: the claim was made), so a
   * later failure of `work` still leaves the key to be released. A waiting step without a claim: as
   * withTransactionTaking (the step and the statement in one transaction).
   */
  withStatementTaking<T>(work: (opening: OpeningStep | undefined) => Promise<T>): Promise<T>;
}

import type { Claim, IdempotencyScope, KeyLook, StoredResponse } from "../idempotency/ports";

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

/**
 * A keyed transaction's first read, its Idempotency-Key's lock (tried) and committed row (see
 * UnitOfWork.withKeyLook): run on its own, or taken in by the transaction's first statement when that one is a
 * read that can carry it (an order's products), one round trip fewer. `settle` is given what it saw and throws
 * when the request is not to run (the key held, answered, or used with another body), so nothing after it runs.
 */
export interface KeyLookStep {
  id: IdempotencyScope;
  /** The look on its own statement, then `settle`. */
  run(): Promise<void>;
  settle(look: KeyLook): void;
  /** Set by `settle`: the look has been made. */
  settled: boolean;
}

/**
 * A keyed transaction's stored answer, written by the work's last write when the work's result is known before it
 * (see UnitOfWork.withKeyAnswer, answerAhead): the answer rendered from that result, and what became of it.
 */
export interface KeyAnswerStep {
  id: IdempotencyScope;
  /** The answer rendered from the result announced last (answerAhead), with the key's row values; none yet. */
  ready?: { response: StoredResponse; claim: Omit<Claim, "leaseUntil"> };
  /** Set by the write that carried it: whether it stored the answer (false: a live row held the key). */
  stored?: boolean;
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
   * Inside a transaction (not a savepoint): runs `work` with `look` to be made before anything else the
   * transaction sends. A statement of the transaction's own level that can carry it takes it in (one statement
   * fewer); any other statement, and any savepoint, is preceded by `look.run()`. If `work` sends nothing, the
   * look is still to be made: `look.settled` says whether it was.
   */
  withKeyLook<T>(look: KeyLookStep, work: () => Promise<T>): Promise<T>;
  /**
   * Outside any transaction (a request that commits step by step: a payment): runs `work` with `look` to be made
   * before anything else `work` sends. It holds no lock (there is no transaction to hold one to its end): the
   * key's committed row only, as a read of its own would. The first statement sent outside a transaction that can
   * carry it takes it in (a payment's read of its order: one statement fewer); any other statement, and any
   * transaction, is preceded by `look.run()`. If `work` sends nothing, `look.settled` stays false.
   */
  withKeyLookAhead<T>(look: KeyLookStep, work: () => Promise<T>): Promise<T>;
  /**
   * Inside a transaction (not a savepoint): runs `work` with `answer` to be stored by the write that can carry it
   * (an order's statement), once `work` announced its result ahead (answerAhead) and `render` made the answer.
   */
  withKeyAnswer<T>(answer: KeyAnswerStep, render: (result: unknown) => void, work: () => Promise<T>): Promise<T>;
  /**
   * The work's result, known before its last write (an order as it will be written): a keyed transaction's answer
   * may then ride on that write (withKeyAnswer). At the transaction's own level only; nothing otherwise.
   */
  answerAhead(result: unknown): void;
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

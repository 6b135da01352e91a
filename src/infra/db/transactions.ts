import { AsyncLocalStorage } from "node:async_hooks";
import { sql } from "drizzle-orm";
import type { Logger } from "drizzle-orm/logger";
import { PostgresJsSession, PostgresJsTransaction } from "drizzle-orm/postgres-js";
import type { Sql, TransactionSql } from "postgres";
import type {
  IsolationLevel,
  KeyAnswerStep,
  KeyLookStep,
  OpeningStep,
  UnitOfWork,
} from "../../domain/shared/unit-of-work";
import { type Database, rowsOf } from "./client";

const STRICTNESS: Record<IsolationLevel, number> = { "read committed": 0, "repeatable read": 1, serializable: 2 };

type Hook = () => Promise<void> | void;

/** A row some table's writer deferred to the transaction's next carrying statement (see `defer`). */
export interface Deferred {
  topic: string;
  row: Record<string, unknown>;
}

/** Writes deferred rows that no statement carried, as the transaction's last statement before COMMIT. */
export type DeferredWriter = (rows: Deferred[]) => Promise<void>;

interface OpenTransaction {
  /**
   * The level's drizzle transaction. On postgres.js it is built on first use (`#dbOf`): statements built once run
   * on `client` directly, so most levels of the money path never need one (issue 18: one drizzle database, with a
   * query builder per table, per transaction and savepoint).
   */
  tx: Database | undefined;
  /** postgres.js: the level's own connection (the `sql` of its BEGIN or SAVEPOINT). Undefined on PGlite. */
  client: TransactionSql | undefined;
  isolationLevel: IsolationLevel;
  /** Work to do once this level's work is committed for good; handed to the enclosing level on success. */
  afterCommit: Hook[];
  /** Undo steps for side effects outside the database, run if this level rolls back. */
  compensations: (() => Promise<void>)[];
  /** Whether a statement ran at this level itself (`current` was taken while it was the innermost). */
  ranOwn: boolean;
  /** Whether a savepoint of this level was released into it (its statements now commit with it). */
  keptNested: boolean;
  /** Rows deferred at this level (or by its released savepoints), in the order they were deferred. */
  deferred: Deferred[];
  parent: OpenTransaction | undefined;
  /**
   * A statement of this transaction may have left row locks held in it (an order's reservation refused after it
   * locked its products): the transaction then never waits for a group's statement (see atPlainRoot).
   */
  mayHoldRowLocks?: boolean;
  /** A root level's Idempotency-Key look still to be made before anything else it sends (withKeyLook). */
  keyLook?: KeyLookStep;
  /** A root level's Idempotency-Key answer, for the write that can carry it (withKeyAnswer), and its renderer. */
  keyAnswer?: { step: KeyAnswerStep; render: (result: unknown) => void };
  /**
   * postgres.js, a root level: its BEGIN has settled for its caller (committed, rolled back, or failed when its
   * session was lost while the work went on). See `#live`.
   */
  ended?: boolean;
}

/** What a level's work settles to once its transaction has ended under it: nothing, ever (see `#live`). */
const NEVER = new Promise<never>(() => {});

/**
 * Unit of work: `withTransaction` opens a transaction, or inside one, a savepoint of it. So a service that
 * calls other services (order → stock → payment → outbox) commits everything together, while a nested
 * unit that fails undoes only its own writes (its caller may handle the error and carry on, exactly as
 * when the nested unit runs on its own). Repositories read `current`, the innermost open one. Each level
 * also carries what must happen outside the database when it commits (afterCommit) or rolls back
 * (onRollback).
 */
/** The postgres.js driver under a root database, for statements built once (statements.ts) to run on directly. */
export interface PostgresDriver {
  /** The pool. */
  readonly client: Sql;
  /** The root database's drizzle logger (tests count statements with it). */
  readonly logger: Logger;
}

/** What drizzle's postgres.js session keeps (drizzle 0.45) that a level's drizzle transaction is built from. */
interface SessionParts {
  client: Sql;
  dialect: unknown;
  schema: unknown;
  options: unknown;
  logger: Logger;
}

export class Transactions implements UnitOfWork {
  readonly #scope = new AsyncLocalStorage<OpenTransaction>();
  /** The opening step of the work running now (withOpening), while no transaction that began with it committed. */
  readonly #opening = new AsyncLocalStorage<OpeningStep & { running?: boolean }>();
  /** The key's look of the work running now outside any transaction (withKeyLookAhead), while still to be made. */
  readonly #lookAhead = new AsyncLocalStorage<{ look: KeyLookStep | undefined }>();
  #writeDeferred: DeferredWriter | undefined;
  /** Set when the root database is postgres.js: transactions then begin on its client without drizzle's objects. */
  readonly postgres: PostgresDriver | undefined;
  readonly #session: SessionParts | undefined;

  constructor(
    private readonly root: Database,
    /** The level the root's sessions start transactions at (DatabaseHandle.sessionIsolation), if pinned. */
    private readonly sessionIsolation?: IsolationLevel,
    /**
     * postgres.js: connections of its own (DatabaseHandle.groupConnection), not the pool's, for statements that
     * run for many requests at once outside their transactions (a group of orders, order-repository.ts): requests
     * waiting for one hold pooled connections, so it must never have to wait for one of them.
     */
    readonly groupConnection?: Sql,
  ) {
    const session = root._.session;
    if (session instanceof PostgresJsSession) {
      const parts = session as unknown as SessionParts;
      this.#session = parts;
      this.postgres = { client: parts.client, logger: parts.logger };
    }
  }

  get current(): Database {
    const open = this.#scope.getStore();
    if (!open) {
      if (this.#lookAhead.getStore()?.look) {
        // As inside a transaction (below): a statement sent later could not be preceded by the look.
        throw new Error("a keyed request's first statement is a built statement (statements.ts), not the builder's");
      }
      return this.root;
    }
    if (open.keyLook) {
      // Sent later, on the drizzle object handed out now: it cannot be preceded by the look (withKeyLook).
      throw new Error("a keyed transaction's first statement is a built statement (statements.ts), not the builder's");
    }
    open.ranOwn = true;
    return this.#dbOf(open);
  }

  /**
   * postgres.js (statements.ts): the connection of the innermost open level, else the pool; as `current` when
   * `own` (counted as the level's own statement for hasWritten), else as `currentWithoutWrites`. Undefined on
   * PGlite, where statements run through `current`'s drizzle session.
   */
  connection(own: boolean): Sql | TransactionSql | undefined {
    if (!this.postgres) return undefined;
    const open = this.#scope.getStore();
    if (!open) return this.postgres.client;
    this.#live(open);
    if (own) open.ranOwn = true;
    return open.client;
  }

  /**
   * postgres.js: throws if `open`'s transaction has ended. postgres.js' `begin` fails its caller as soon as the
   * session closes while the work goes on (waiting for Redis, the gateway): anything the work then sends on the
   * level's connection object goes to the session the pool reconnected it for, another transaction's. So a
   * statement, a savepoint or a drizzle transaction of an ended level is refused, and the work's end (see
   * `#unlessEnded`) lets postgres.js send no COMMIT or ROLLBACK for it.
   */
  #live(open: OpenTransaction): void {
    let root = open;
    while (root.parent) root = root.parent;
    if (root.ended) {
      // Coded as postgres.js codes a statement on a closed session, so callers see the database unavailable.
      throw Object.assign(new Error("this transaction has ended (its session was lost): nothing more is sent on it"), {
        code: "CONNECTION_CLOSED",
      });
    }
  }

  /** `running`, unless its transaction ended meanwhile: then never settled, so postgres.js sends nothing more. */
  #unlessEnded<T>(level: OpenTransaction, running: Promise<T>): Promise<T> {
    const ended = () => {
      let root = level;
      while (root.parent) root = root.parent;
      return root.ended === true;
    };
    return running.then(
      (value) => (ended() ? NEVER : value),
      (error: unknown) => {
        if (ended()) return NEVER;
        throw error;
      },
    );
  }

  /** The level's drizzle transaction, built on the level's postgres.js connection the first time it is asked for. */
  #dbOf(open: OpenTransaction): Database {
    if (this.postgres) this.#live(open);
    if (open.tx) return open.tx;
    const { dialect, schema, options } = this.#session as SessionParts;
    // What drizzle's PostgresJsSession.transaction (and its savepoints) builds for the same connection.
    const tx = new PostgresJsTransaction(
      dialect as never,
      new PostgresJsSession(open.client as never, dialect as never, schema as never, options as never),
      schema as never,
    );
    open.tx = tx as unknown as Database;
    return open.tx;
  }

  /**
   * The same session as `current`, for a statement that writes nothing and locks no row (an Idempotency-Key's
   * advisory lock and read, the first statement of a keyed transaction): it does not count as the level's own
   * statement for hasWritten, so a request whose only writes were in savepoints that rolled back still reads as
   * having written nothing without asking PostgreSQL (which would say it had: a savepoint's write gives the
   * transaction its id for good).
   */
  get currentWithoutWrites(): Database {
    const open = this.#scope.getStore();
    return open ? this.#dbOf(open) : this.root;
  }

  /**
   * A statement run on `currentWithoutWrites` wrote after all (one that writes only when it returns rows, see
   * StatementOptions.writesOnlyWithRows): it counts as the innermost level's own statement, as `current` would.
   */
  countOwnWrite(): void {
    const open = this.#scope.getStore();
    if (open) open.ranOwn = true;
  }

  async withTransaction<T>(
    work: (tx: Database) => Promise<T>,
    isolationLevel: IsolationLevel = "read committed",
  ): Promise<T> {
    // A savepoint's first statement (SAVEPOINT) cannot carry a key's look, nor a transaction's (BEGIN) a look of
    // withKeyLookAhead: it is made before.
    const looking = this.lookFirst();
    if (looking) await looking;
    const open = this.#scope.getStore();
    if (open && STRICTNESS[isolationLevel] > STRICTNESS[open.isolationLevel]) {
      // A savepoint cannot change the isolation level; asking for a stricter one is a design error.
      throw new Error(`cannot run ${isolationLevel} work inside a ${open.isolationLevel} transaction`);
    }
    const level: OpenTransaction = {
      tx: undefined,
      client: undefined,
      isolationLevel: open?.isolationLevel ?? isolationLevel,
      afterCommit: [],
      compensations: [],
      ranOwn: false,
      keptNested: false,
      deferred: [],
      parent: open,
    };
    // A root transaction of work with an opening step still to commit begins with it (one at a time).
    const opening = open ? undefined : this.#opening.getStore();
    const opens = opening !== undefined && !opening.committed && !opening.running;
    const step = opens ? opening : undefined;
    // At the sessions' own level a SET TRANSACTION would only cost a round trip (every order has one).
    const config = isolationLevel === this.sessionIsolation ? undefined : { isolationLevel };
    let result: T;
    try {
      if (this.postgres) {
        // What drizzle's transaction() sends (BEGIN, SET TRANSACTION when asked, SAVEPOINT), on postgres.js itself.
        if (open) {
          this.#live(open);
          result = (await (open.client as TransactionSql).savepoint((client) =>
            this.#unlessEnded(level, this.#run(client, undefined, level, undefined, work)),
          )) as T;
        } else {
          try {
            result = (await this.postgres.client.begin(async (client) => {
              level.client = client;
              if (config)
                await (this.#dbOf(level) as unknown as PostgresJsTransaction<never, never>).setTransaction(config);
              return this.#unlessEnded(level, this.#run(client, level.tx, level, step, work));
            })) as T;
          } finally {
            level.ended = true;
          }
        }
      } else {
        result = open
          ? await (open.tx as Database).transaction((savepoint) =>
              this.#run(undefined, savepoint, level, undefined, work),
            )
          : await this.root.transaction((tx) => this.#run(undefined, tx, level, step, work), config);
      }
    } catch (error) {
      for (const compensate of level.compensations.reverse()) await compensate().catch(() => {});
      throw error;
    }
    if (open) {
      // A released savepoint's effects now stand or fall with the transaction around it.
      open.keptNested = true;
      open.deferred.push(...level.deferred);
      open.compensations.push(...level.compensations);
      open.afterCommit.push(...level.afterCommit);
    } else {
      if (opens) opening.committed = true;
      for (const hook of level.afterCommit) await hook();
    }
    return result;
  }

  withOpening<T>(step: OpeningStep, work: () => Promise<T>): Promise<T> {
    return this.#opening.run(step, work);
  }

  async withTransactionTaking<T>(work: (opening: OpeningStep | undefined) => Promise<T>): Promise<T> {
    const opening = this.#scope.getStore() ? undefined : this.#opening.getStore();
    if (opening === undefined || opening.committed || opening.running)
      return this.withTransaction(() => work(undefined));
    // Marked running, so this transaction does not run the step itself (nor one opened meanwhile): `work` does.
    opening.running = true;
    try {
      // Committed as soon as the COMMIT is done, before the other hooks (one may throw), as withTransaction marks
      // a step it began with.
      return await this.withTransaction(() => {
        this.afterCommit(() => {
          opening.committed = true;
        });
        return work(opening);
      });
    } finally {
      opening.running = false;
    }
  }

  async withKeyLook<T>(look: KeyLookStep, work: () => Promise<T>): Promise<T> {
    const open = this.#scope.getStore();
    if (!open || open.parent) throw new Error("withKeyLook: only at a transaction's own level");
    open.keyLook = look;
    try {
      return await work();
    } finally {
      open.keyLook = undefined;
    }
  }

  /**
   * The key's look still to be made at the innermost level, for a statement about to run there that carries it
   * (it then calls the look's `settle` with what it saw); undefined when there is none (or inside a savepoint:
   * opening it made the look).
   */
  takeKeyLook(): KeyLookStep | undefined {
    const open = this.#scope.getStore();
    const look = open?.keyLook;
    if (open && look) open.keyLook = undefined;
    return look;
  }

  async withKeyLookAhead<T>(look: KeyLookStep, work: () => Promise<T>): Promise<T> {
    if (this.#scope.getStore()) throw new Error("withKeyLookAhead: only outside a transaction");
    return this.#lookAhead.run({ look }, work);
  }

  /**
   * The look of withKeyLookAhead still to be made, for a statement about to be sent outside any transaction that
   * carries it (the key's row, no lock; it then calls `settle`); undefined when there is none, and inside a
   * transaction (opening it made the look, see lookFirst).
   */
  takeKeyLookAhead(): KeyLookStep | undefined {
    return this.#scope.getStore() ? undefined : this.#takeLookAhead();
  }

  /** withKeyLookAhead's look still to be made, taken (made by whoever takes it); at any level. */
  #takeLookAhead(): KeyLookStep | undefined {
    const ahead = this.#lookAhead.getStore();
    const look = ahead?.look;
    if (ahead && look) ahead.look = undefined;
    return look;
  }

  /**
   * For a statement that does not carry the key's look (or a savepoint, or a transaction's BEGIN): the look made
   * first, on its own, when one is still to be made; undefined (nothing to wait for) otherwise, the usual case.
   */
  lookFirst(): Promise<void> | undefined {
    return (this.takeKeyLook() ?? this.#takeLookAhead())?.run();
  }

  async withKeyAnswer<T>(answer: KeyAnswerStep, render: (result: unknown) => void, work: () => Promise<T>): Promise<T> {
    const open = this.#scope.getStore();
    if (!open || open.parent) throw new Error("withKeyAnswer: only at a transaction's own level");
    open.keyAnswer = { step: answer, render };
    try {
      return await work();
    } finally {
      open.keyAnswer = undefined;
    }
  }

  answerAhead(result: unknown): void {
    const open = this.#scope.getStore();
    if (open?.keyAnswer && open.keyAnswer.step.stored === undefined) open.keyAnswer.render(result);
  }

  /**
   * The key's answer for a write about to run at the innermost level that carries it (it then sets `stored`):
   * only at the transaction's own level, once rendered (answerAhead), and not once a write stored it.
   */
  takeKeyAnswer(): KeyAnswerStep | undefined {
    const answer = this.#scope.getStore()?.keyAnswer?.step;
    return answer?.ready && answer.stored === undefined ? answer : undefined;
  }

  withStatement<T>(work: () => Promise<T>): Promise<T> {
    if (this.#scope.getStore() || this.#waitingOpening()) return this.withTransaction(work);
    return work();
  }

  async withStatementTaking<T>(work: (opening: OpeningStep | undefined) => Promise<T>): Promise<T> {
    if (this.#scope.getStore()) return this.withTransactionTaking(work);
    const opening = this.#waitingOpening();
    if (!opening) return work(undefined);
    const claim = opening.claim;
    if (!claim) return this.withTransactionTaking(work);
    // Marked running, so a transaction opened meanwhile does not run the step: the statement takes it in.
    opening.running = true;
    let settled = false;
    try {
      return await work({
        run: () => opening.run(),
        committed: false,
        claim: {
          terms: () => claim.terms(),
          settle: (claimed) => {
            settled = true;
            // The statement claimed the key and has committed (it ran on its own): so has the step.
            if (claimed) opening.committed = true;
            claim.settle(claimed);
          },
        },
      });
    } catch (error) {
      // Failed before it said whether it claimed: a statement sent on its own commits when it ends, so one whose
      // answer was lost with its connection may have claimed the key (the step's owner releases it, by its token).
      if (!settled) opening.inDoubt = true;
      throw error;
    } finally {
      opening.running = false;
    }
  }

  /** The opening step of the work running now, if one is waiting to begin a transaction (see withOpening). */
  #waitingOpening(): (OpeningStep & { running?: boolean }) | undefined {
    const opening = this.#opening.getStore();
    return opening !== undefined && !opening.committed && !opening.running ? opening : undefined;
  }

  afterCommit(hook: Hook): Promise<void> | void {
    const open = this.#scope.getStore();
    if (!open) return hook();
    open.afterCommit.push(hook);
  }

  onRollback(compensation: () => Promise<void>): void {
    this.#scope.getStore()?.compensations.push(compensation);
  }

  /**
   * Whether the work runs at a root transaction's own level with no Idempotency-Key's look, deferred rows or
   * opening step pending in it: nothing of the transaction but its key's answer (which a group's statement stores)
   * has to ride on its next statement, so that statement's write may be made by another connection's (a group's)
   * instead, the transaction committing only its reads and letting its key's lock go.
   */
  atPlainRoot(
    /** The key's answer, if the transaction has one, is carried by the statement (takeKeyAnswer gave it). */
    answerCarried: boolean,
  ): boolean {
    const open = this.#scope.getStore();
    return (
      open !== undefined &&
      open.parent === undefined &&
      open.keyLook === undefined &&
      open.mayHoldRowLocks !== true &&
      (open.keyAnswer === undefined || answerCarried) &&
      open.deferred.length === 0 &&
      this.#opening.getStore() === undefined
    );
  }

  /**
   * The statement just run at the innermost level may have locked rows it did not write (a refused reservation):
   * from now on its transaction does not wait for a group's statement, which could wait for those very rows while
   * the transaction waits for it (a deadlock PostgreSQL cannot see: its half is in this process).
   */
  markMayHoldRowLocks(): void {
    const open = this.#scope.getStore();
    if (open) open.mayHoldRowLocks = true;
  }

  inTransaction(): boolean {
    return this.#scope.getStore() !== undefined;
  }

  /**
   * Defers `rows` to the transaction's next statement that carries deferred rows at this level (see `take`),
   * or else to one statement written just before COMMIT: they commit or roll back with this level all the same,
   * one statement fewer when a carrier comes. False outside a transaction (the caller writes them now).
   */
  defer(rows: Deferred[]): boolean {
    const open = this.#scope.getStore();
    if (!open || !this.#writeDeferred) return false;
    open.deferred.push(...rows);
    return true;
  }

  /** Who writes the rows no statement carried (the outbox writer). */
  writeDeferredWith(writer: DeferredWriter): void {
    this.#writeDeferred = writer;
  }

  /**
   * The deferred rows a statement about to run at the innermost level is to carry, taken from the queue.
   * Only this level's own, and only when no enclosing level has rows waiting: a carried row then commits or
   * rolls back exactly with the level that deferred it, and rows reach their tables in the order deferred.
   */
  take(): Deferred[] | undefined {
    const open = this.#scope.getStore();
    if (!open || open.deferred.length === 0) return undefined;
    for (let up = open.parent; up; up = up.parent) if (up.deferred.length > 0) return undefined;
    const rows = open.deferred;
    open.deferred = [];
    return rows;
  }

  /**
   * Rows `take` gave a statement that did not write them (a carrier whose own write matched nothing): back at the
   * front of the innermost level's queue, for its next carrier or its COMMIT, as if never taken.
   */
  giveBack(rows: Deferred[]): void {
    const open = this.#scope.getStore();
    if (open) open.deferred.unshift(...rows);
  }

  /**
   * The level's drizzle transaction for a `work` that declares no parameter (the services: they reach the database
   * through repositories and `current`), built only if it is used all the same (`arguments`, a rest parameter).
   */
  #lazyDb(level: OpenTransaction): Database {
    return new Proxy({} as Database, {
      get: (_, key) => {
        const db = this.#dbOf(level);
        const value = Reflect.get(db, key, db);
        return typeof value === "function" ? value.bind(db) : value;
      },
      has: (_, key) => Reflect.has(this.#dbOf(level), key),
      getPrototypeOf: () => Reflect.getPrototypeOf(this.#dbOf(level)),
    });
  }

  async hasWritten(): Promise<boolean> {
    const open = this.#scope.getStore();
    if (!open) return false;
    // A deferred row is a write not sent yet (it commits with the transaction).
    for (let level: OpenTransaction | undefined = open; level; level = level.parent) {
      if (level.deferred.length > 0) return true;
    }
    // Only savepoints that rolled back ran in it (an order refused at its reservation, after writing the order):
    // nothing it did will commit, without asking (the transaction has an id since those writes all the same).
    if (!open.ranOwn && !open.keptNested) return false;
    // PostgreSQL gives a transaction its id at its first write or row lock (a savepoint's too), never before.
    const [row] = rowsOf<{ wrote: boolean }>(
      await this.#dbOf(open).execute(sql`select txid_current_if_assigned() is not null as wrote`),
    );
    return row?.wrote === true;
  }

  #run<T>(
    client: TransactionSql | undefined,
    tx: unknown,
    level: OpenTransaction,
    /** The opening step this root transaction begins with (withOpening), if it is to. */
    opening: (OpeningStep & { running?: boolean }) | undefined,
    work: (tx: Database) => Promise<T>,
  ): Promise<T> {
    level.client = client;
    level.tx = tx as Database | undefined;
    return this.#scope.run(level, async () => {
      if (opening) {
        opening.running = true;
        try {
          await opening.run();
        } finally {
          opening.running = false;
        }
      }
      // `work`'s argument: the level's drizzle transaction if it names one (built now), else one built if used.
      const result = await work(level.tx ?? (work.length > 0 ? this.#dbOf(level) : this.#lazyDb(level)));
      // The root's rows no statement carried: written now, before COMMIT (a savepoint hands its own up).
      if (!level.parent && level.deferred.length > 0) {
        const rows = level.deferred;
        level.deferred = [];
        await (this.#writeDeferred as DeferredWriter)(rows);
      }
      return result;
    });
  }
}

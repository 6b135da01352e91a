import { AsyncLocalStorage } from "node:async_hooks";
import type { IsolationLevel, UnitOfWork } from "../../domain/shared/unit-of-work";
import type { Database } from "./client";

const STRICTNESS: Record<IsolationLevel, number> = { "read committed": 0, "repeatable read": 1, serializable: 2 };

type Hook = () => Promise<void> | void;

interface OpenTransaction {
  tx: Database;
  isolationLevel: IsolationLevel;
  /** Hooks of work done in this transaction or savepoint; handed to the enclosing one when it succeeds. */
  afterCommit: Hook[];
}

/**
 * Unit of work: `withTransaction` opens a transaction, or inside one, a savepoint of it. So a service that
 * calls other services (order → stock → payment → outbox) commits everything together, while a nested
 * unit that fails undoes only its own writes (its caller may handle the error and carry on, exactly as
 * when the nested unit runs on its own). Repositories read `current`, the innermost open one.
 */
export class Transactions implements UnitOfWork {
  readonly #scope = new AsyncLocalStorage<OpenTransaction>();

  constructor(private readonly root: Database) {}

  get current(): Database {
    return this.#scope.getStore()?.tx ?? this.root;
  }

  async withTransaction<T>(
    work: (tx: Database) => Promise<T>,
    isolationLevel: IsolationLevel = "read committed",
  ): Promise<T> {
    const open = this.#scope.getStore();
    const hooks: Hook[] = [];
    if (open) {
      // A savepoint cannot change the isolation level; asking for a stricter one is a design error.
      if (STRICTNESS[isolationLevel] > STRICTNESS[open.isolationLevel]) {
        throw new Error(`cannot run ${isolationLevel} work inside a ${open.isolationLevel} transaction`);
      }
      const result = await open.tx.transaction((savepoint) => this.#run(savepoint, open.isolationLevel, hooks, work));
      // The savepoint is released: its hooks now wait for the enclosing transaction.
      open.afterCommit.push(...hooks);
      return result;
    }
    const result = await this.root.transaction((tx) => this.#run(tx, isolationLevel, hooks, work), {
      isolationLevel,
    });
    for (const hook of hooks) await hook();
    return result;
  }

  afterCommit(hook: Hook): Promise<void> | void {
    const open = this.#scope.getStore();
    if (!open) return hook();
    open.afterCommit.push(hook);
  }

  #run<T>(tx: unknown, isolationLevel: IsolationLevel, hooks: Hook[], work: (tx: Database) => Promise<T>): Promise<T> {
    const scoped = tx as Database;
    return this.#scope.run({ tx: scoped, isolationLevel, afterCommit: hooks }, () => work(scoped));
  }
}

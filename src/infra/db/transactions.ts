import { AsyncLocalStorage } from "node:async_hooks";
import type { IsolationLevel, UnitOfWork } from "../../domain/shared/unit-of-work";
import type { Database } from "./client";

const STRICTNESS: Record<IsolationLevel, number> = { "read committed": 0, "repeatable read": 1, serializable: 2 };

interface OpenTransaction {
  tx: Database;
  isolationLevel: IsolationLevel;
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

  withTransaction<T>(
    work: (tx: Database) => Promise<T>,
    isolationLevel: IsolationLevel = "read committed",
  ): Promise<T> {
    const open = this.#scope.getStore();
    if (open) {
      // A savepoint cannot change the isolation level; asking for a stricter one is a design error.
      if (STRICTNESS[isolationLevel] > STRICTNESS[open.isolationLevel]) {
        throw new Error(`cannot run ${isolationLevel} work inside a ${open.isolationLevel} transaction`);
      }
      return open.tx.transaction((savepoint) => this.#run(savepoint, open.isolationLevel, work));
    }
    return this.root.transaction((tx) => this.#run(tx, isolationLevel, work), { isolationLevel });
  }

  #run<T>(tx: unknown, isolationLevel: IsolationLevel, work: (tx: Database) => Promise<T>): Promise<T> {
    const scoped = tx as Database;
    return this.#scope.run({ tx: scoped, isolationLevel }, () => work(scoped));
  }
}

import { AsyncLocalStorage } from "node:async_hooks";
import type { IsolationLevel, UnitOfWork } from "../../domain/shared/unit-of-work";
import type { Database } from "./client";

/**
 * Unit of work: `withTransaction` opens a transaction or joins the caller's, so a service that calls
 * other services (order → stock → payment → outbox) commits or rolls back everything together.
 * Repositories read `current`, which is the open transaction when there is one.
 */
export class Transactions implements UnitOfWork {
  readonly #scope = new AsyncLocalStorage<Database>();

  constructor(private readonly root: Database) {}

  get current(): Database {
    return this.#scope.getStore() ?? this.root;
  }

  /** A joined transaction keeps the isolation level of the one that opened it. */
  withTransaction<T>(
    work: (tx: Database) => Promise<T>,
    isolationLevel: IsolationLevel = "read committed",
  ): Promise<T> {
    const open = this.#scope.getStore();
    if (open) return work(open);
    return this.root.transaction(
      (tx) => this.#scope.run(tx as unknown as Database, () => work(tx as unknown as Database)),
      {
        isolationLevel,
      },
    );
  }
}

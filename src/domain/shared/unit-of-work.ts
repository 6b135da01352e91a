export type IsolationLevel = "read committed" | "repeatable read" | "serializable";

/** Runs work in one database transaction, joining the caller's when one is already open. */
export interface UnitOfWork {
  withTransaction<T>(work: () => Promise<T>, isolationLevel?: IsolationLevel): Promise<T>;
}

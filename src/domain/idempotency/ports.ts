export interface IdempotencyScope {
  /** The caller (user id): keys of different users never collide. */
  scope: string;
  method: string;
  path: string;
  key: string;
}

export interface StoredResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
}

export interface IdempotencyRecord {
  requestHash: string;
  /** Undefined while the first request is still being processed. */
  response?: StoredResponse;
  /** Until when the request holding the key in flight may still be running (null once answered). */
  lockedUntil: Date | null;
  expiresAt: Date;
}

/** What the first statement of a keyed transaction saw: whether the key's lock was free, and its record. */
export interface KeyLook {
  /**
   * False while another open transaction holds the key (its request is in flight and has committed nothing). A
   * look made outside any transaction tries no lock (UnitOfWork.withKeyLookAhead): true, the claim decides later.
   */
  free: boolean;
  record?: IdempotencyRecord;
  /**
   * For a route that answers a key in flight from its own record (a payment carries its key, see
   * idempotentAcrossCommits): whether that record, read by the statement that read the key's row, answers the
   * request (the payment its key made is COMPLETED). Undefined when the record was not read (the look made alone).
   */
  answeredByRecord?: boolean;
}

export interface Claim {
  requestHash: string;
  /** Fencing token: only the request holding it may store a response or release the key. */
  claimToken: string;
  now: Date;
  leaseUntil: Date;
  expiresAt: Date;
}

export interface IdempotencyRepository {
  /**
   * Inside a transaction: takes the key's transaction-scoped lock if it is free (never waits for it) and reads
   * the key's committed record, in one statement that writes nothing. The lock is held until the transaction ends.
   */
  lockAndFind(id: IdempotencyScope): Promise<KeyLook>;
  /**
   * Takes the key's lock if it is free (never waits) and, holding it, inserts the key as in flight, or takes over
   * a row whose 24 h have passed, or one with the same request whose in-flight lease ran out (the process
   * handling it died). False when the lock is held or a live row holds the key.
   */
  claim(id: IdempotencyScope, claim: Claim): Promise<boolean>;
  /**
   * Stores `response` as the key's answer in one statement: a new row, or over a row whose 24 h have passed, or
   * over an abandoned in-flight row of the same request. False when a live row holds the key (its answer, or a
   * request in flight): nothing is written then.
   */
  claimAnswered(id: IdempotencyScope, claim: Omit<Claim, "leaseUntil">, response: StoredResponse): Promise<boolean>;
  find(id: IdempotencyScope): Promise<IdempotencyRecord | undefined>;
  /** Stores the response if `claimToken` still holds the key in flight; false if it lost the key. */
  complete(id: IdempotencyScope, claimToken: string, response: StoredResponse): Promise<boolean>;
  /** Forgets an in-flight key held by `claimToken`. */
  release(id: IdempotencyScope, claimToken: string): Promise<void>;
  purgeExpired(now: Date): Promise<number>;
}

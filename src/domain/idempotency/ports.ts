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
}

export interface IdempotencyRepository {
  /**
   * Inserts the key as in flight, or takes over a row whose 24 h have passed or whose in-flight lease ran
   * out (the process handling it died). Returns false when a live row already holds the key.
   */
  claim(id: IdempotencyScope, requestHash: string, now: Date, leaseUntil: Date, expiresAt: Date): Promise<boolean>;
  find(id: IdempotencyScope): Promise<IdempotencyRecord | undefined>;
  complete(id: IdempotencyScope, response: StoredResponse): Promise<void>;
  release(id: IdempotencyScope): Promise<void>;
  purgeExpired(now: Date): Promise<number>;
}

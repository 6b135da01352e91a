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
   * Inserts the key as in flight, or takes over a row whose 24 h have passed, or one with the same request
   * whose in-flight lease ran out (the process handling it died). False when a live row holds the key.
   */
  claim(id: IdempotencyScope, claim: Claim): Promise<boolean>;
  find(id: IdempotencyScope): Promise<IdempotencyRecord | undefined>;
  /** Stores the response if `claimToken` still holds the key in flight; false if it lost the key. */
  complete(id: IdempotencyScope, claimToken: string, response: StoredResponse): Promise<boolean>;
  /** Forgets an in-flight key held by `claimToken`. */
  release(id: IdempotencyScope, claimToken: string): Promise<void>;
  purgeExpired(now: Date): Promise<number>;
}

import { DomainError } from "../../domain/shared/errors";
import type { PasswordHasher } from "../../domain/users/ports";
import { ConcurrencyLimit } from "../concurrency-limit";

/** argon2id through Bun's built-in implementation (runs off the JS thread). */
export const argon2Passwords: PasswordHasher = {
  hash: (password) => Bun.password.hash(password, { algorithm: "argon2id" }),
  verify: (password, hash) => Bun.password.verify(password, hash),
};

/**
 * Admission control in front of a hasher: at most `concurrency` hashes run at once, at most `queue` more wait
 * (first come, first served); past that a request is refused at once with 503 UNAVAILABLE and Retry-After,
 * rather than waiting behind a flood for seconds and holding its memory. Each hash is ~50–100 ms of a core.
 */
export class AdmissionLimitedHasher implements PasswordHasher {
  readonly #limit: ConcurrencyLimit;

  constructor(
    private readonly inner: PasswordHasher,
    limits: { concurrency: number; queue: number },
  ) {
    this.#limit = new ConcurrencyLimit(limits.concurrency, {
      queue: limits.queue,
      full: () =>
        new DomainError("UNAVAILABLE", "Too many password checks at once; retry shortly", undefined, {
          retryAfterSeconds: 1,
        }),
    });
  }

  hash(password: string): Promise<string> {
    return this.#limit.run(() => this.inner.hash(password));
  }

  verify(password: string, hash: string): Promise<boolean> {
    return this.#limit.run(() => this.inner.verify(password, hash));
  }
}

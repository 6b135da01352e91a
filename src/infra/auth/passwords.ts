import { DomainError } from "../../domain/shared/errors";
import type { PasswordHasher } from "../../domain/users/ports";

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
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    private readonly inner: PasswordHasher,
    private readonly limits: { concurrency: number; queue: number },
  ) {}

  hash(password: string): Promise<string> {
    return this.#admitted(() => this.inner.hash(password));
  }

  verify(password: string, hash: string): Promise<boolean> {
    return this.#admitted(() => this.inner.verify(password, hash));
  }

  async #admitted<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limits.concurrency) {
      if (this.#waiting.length >= this.limits.queue) {
        throw new DomainError("UNAVAILABLE", "Too many password checks at once; retry shortly", undefined, {
          retryAfterSeconds: 1,
        });
      }
      // The slot is handed over by the finishing hash (#running stays counted), so nobody can overtake.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

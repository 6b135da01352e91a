import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../lib/app-env";
import { problem, problemResponse } from "../lib/problem";

/**
 * Every request answers within `limitMs`: past it the client gets 503 UNAVAILABLE with Retry-After, and the
 * connection (and the client's patience) is not held by a stuck database lock or dependency. The work already
 * under way is not cut off half-way. With an Idempotency-Key it sees this 503 as its answer (the context's
 * response is now it), and an answer with Retry-After is never stored: a keyed unit of work rolls back and
 * the key is released when the work ends (a retry gets 409 until then), so the retry is the one that counts.
 * Without a key the work finishes as it would have, as after any lost connection. A synchronous loop cannot
 * be interrupted at all: those are bounded by construction.
 */
export const requestTimeLimit = (limitMs: number) =>
  createMiddleware<AppEnv>(async (c, next) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), limitMs);
    });
    const work = next().then(() => "answered" as const);
    const outcome = await Promise.race([work, expired]);
    clearTimeout(timer);
    if (outcome === "expired") {
      // Whatever the abandoned work ends with has nobody to go to (its errors are logged by onError).
      work.catch(() => {});
      const seconds = Math.max(1, Math.ceil(limitMs / 1000));
      return problemResponse(
        c,
        problem("UNAVAILABLE", `The request did not finish within ${limitMs} ms; retry shortly`),
        { "Retry-After": String(seconds) },
      );
    }
  });

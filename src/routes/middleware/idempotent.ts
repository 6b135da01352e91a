import type { Context, Next } from "hono";
import { createMiddleware } from "hono/factory";
import type { IdempotencyScope, StoredResponse } from "../../domain/idempotency/ports";
import { DomainError, validationFailed } from "../../domain/shared/errors";
import type { AppEnv } from "../lib/app-env";
import { IDEMPOTENCY_KEY_MAX_LENGTH } from "../lib/schemas";

/**
 * Response headers worth replaying; everything else (dates, request ids) belongs to the new request.
 * `retry-after` is kept so the service can see it: an answer carrying it is never stored (see isFinal).
 */
const REPLAYED_HEADERS = ["content-type", "location", "retry-after"];

const bodyHash = (body: string) => new Bun.CryptoHasher("sha256").update(body).digest("hex");

async function snapshot(res: Response): Promise<StoredResponse> {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = res.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: res.status, body: await res.clone().text(), headers };
}

type RunClaimed = (c: Context<AppEnv>, next: Next, id: IdempotencyScope, claimToken: string) => Promise<void>;

/**
 * `Idempotency-Key` on a money-moving POST: runs after `authenticate` (keys are per user) and before
 * validation. The first request with a key runs (`runClaimed` decides whether its answer is stored: a
 * refusal made before any effect is not, so a user's keys grow only with what their requests did); a
 * replay gets the stored answer with `Idempotent-Replayed: true`; a different body 422; a request while
 * the first is in flight 409.
 */
function idempotencyMiddleware(runClaimed: RunClaimed) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const key = c.req.header("Idempotency-Key");
    if (key === undefined) return next();
    if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
      throw validationFailed("header.idempotency-key", `must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters`);
    }
    const id: IdempotencyScope = { scope: c.var.actor.userId, method: c.req.method, path: c.req.path, key };
    // Hono caches the body text, so the validator after us can still parse it.
    const decision = await c.var.services.idempotency.begin(id, bodyHash(await c.req.text()));
    if (decision.kind === "replay") {
      const { status, body, headers } = decision.response;
      return c.body(body, status as 200, { ...headers, "Idempotent-Replayed": "true" });
    }
    await runClaimed(c, next, id, decision.claimToken);
  });
}

/**
 * For handlers whose work is one unit (charge, order, coupon issue): the handler runs in one transaction with
 * the storing of its response (see IdempotencyService.runClaimed), so a crash can never leave the change
 * without its stored answer.
 */
export const idempotent = idempotencyMiddleware(async (c, next, id, claimToken) => {
  // Hono turns a thrown error into its problem response before `next()` returns, so `c.res` is the answer.
  const kept = await c.var.services.idempotency.runClaimed(id, claimToken, async () => {
    await next();
    return snapshot(c.res);
  });
  if (!kept) {
    throw new DomainError(
      "IDEMPOTENCY_KEY_IN_USE",
      "This request outlived its claim on the Idempotency-Key and was rolled back; a retry of it holds the key now",
    );
  }
});

/**
 * For handlers that commit step by step (payments persist each state before calling the gateway, refunds
 * before theirs): they cannot run inside one transaction, so the response is stored after the handler's own
 * commits. If the process dies in between (or a 5xx releases the key), the key stays in flight until its
 * lease runs out and a retry runs the handler again: safe, because these handlers find what the first run
 * recorded (a paid order is not paid again, the gateway gets the same payment id; a refund carries its
 * request's key, so the retry answers with that refund). An answer the handler marks provisional (built on
 * state still being repaired) is not stored.
 */
export const idempotentAcrossCommits = idempotencyMiddleware(async (c, next, id, claimToken) => {
  await next();
  await c.var.services.idempotency.recordOutcome(id, claimToken, await snapshot(c.res), {
    provisional: c.var.provisionalAnswer === true,
  });
});

import { createMiddleware } from "hono/factory";
import type { IdempotencyScope, StoredResponse } from "../../domain/idempotency/ports";
import { DomainError, validationFailed } from "../../domain/shared/errors";
import type { AppEnv } from "../lib/app-env";
import { IDEMPOTENCY_KEY_MAX_LENGTH } from "../lib/schemas";

/** Response headers worth replaying; everything else (dates, request ids) belongs to the new request. */
const REPLAYED_HEADERS = ["content-type", "location"];

const bodyHash = (body: string) => new Bun.CryptoHasher("sha256").update(body).digest("hex");

async function snapshot(res: Response): Promise<StoredResponse> {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = res.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: res.status, body: await res.clone().text(), headers };
}

/**
 * Honours `Idempotency-Key` on a money-moving POST. Runs after `authenticate` (keys are per user) and
 * before validation, so even a rejected body is answered the same way on a retry. The handler runs in
 * one transaction with the storing of its response (see IdempotencyService.runClaimed).
 * That suits handlers whose work is one unit (charge, order, coupon issue). A handler that must commit
 * steps as it goes (payments persist each state before calling the gateway) must not be wrapped so: it
 * will need a variant that stores the response after the handler's own commits.
 */
export const idempotent = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.header("Idempotency-Key");
  if (key === undefined) return next();
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
    throw validationFailed("header.idempotency-key", `must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters`);
  }
  const { idempotency } = c.var.services;
  const id: IdempotencyScope = { scope: c.var.actor.userId, method: c.req.method, path: c.req.path, key };
  // Hono caches the body text, so the validator after us can still parse it.
  const decision = await idempotency.begin(id, bodyHash(await c.req.text()));
  if (decision.kind === "replay") {
    const { status, body, headers } = decision.response;
    return c.body(body, status as 200, { ...headers, "Idempotent-Replayed": "true" });
  }

  // Hono turns a thrown error into its problem response before `next()` returns, so `c.res` is the answer.
  const kept = await idempotency.runClaimed(id, decision.claimToken, async () => {
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

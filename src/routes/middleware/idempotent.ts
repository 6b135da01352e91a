import { createMiddleware } from "hono/factory";
import type { IdempotencyScope } from "../../domain/idempotency/ports";
import { validationFailed } from "../../domain/shared/errors";
import type { AppEnv } from "../lib/app-env";

const MAX_KEY_LENGTH = 255;
/** Response headers worth replaying; everything else (dates, request ids) belongs to the new request. */
const REPLAYED_HEADERS = ["content-type", "location"];

const bodyHash = (body: string) => new Bun.CryptoHasher("sha256").update(body).digest("hex");

/**
 * Honours `Idempotency-Key` on a money-moving POST. Runs after `authenticate` (keys are per user) and
 * before validation, so even a rejected body is answered the same way on a retry.
 * Our own failures (5xx) release the key: the retry runs again instead of replaying the failure.
 */
export const idempotent = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.req.header("Idempotency-Key");
  if (key === undefined) return next();
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw validationFailed("headers.Idempotency-Key", `must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
  const { idempotency } = c.var.services;
  const id: IdempotencyScope = { scope: c.var.actor.userId, method: c.req.method, path: c.req.path, key };
  // Hono caches the body text, so the validator after us can still parse it.
  const decision = await idempotency.begin(id, bodyHash(await c.req.text()));
  if (decision.kind === "replay") {
    const { status, body, headers } = decision.response;
    return c.body(body, status as 200, { ...headers, "Idempotent-Replayed": "true" });
  }

  try {
    await next();
  } catch (error) {
    await idempotency.release(id);
    throw error;
  }
  if (c.res.status >= 500) {
    await idempotency.release(id);
    return;
  }
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = c.res.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  await idempotency.complete(id, { status: c.res.status, body: await c.res.clone().text(), headers });
});

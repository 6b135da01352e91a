import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { DomainError } from "../../domain/shared/errors";
import { assertRole } from "../../domain/users/access";
import type { Role } from "../../domain/users/user";
import type { AppEnv } from "../lib/app-env";

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * Verifies `Authorization: Bearer <jwt>`, then that it still speaks for its user (role and token version as
 * now: a logout, a password change, a role change or a deletion refuse it), and puts the caller on
 * `c.get("actor")` (and the token's id on `c.get("tokenId")`).
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const match = BEARER.exec(c.req.header("Authorization") ?? "");
  if (!match?.[1]) throw new DomainError("UNAUTHENTICATED", "Send Authorization: Bearer <access token>");
  // c.get, not c.var: Hono's c.var copies every variable into a new object on each access.
  const services = c.get("services");
  const claims = await services.tokens.claims(match[1]);
  c.set("actor", await services.users.authenticate(claims));
  c.set("tokenId", claims.tokenId);
  await next();
});

/** Runs after `authenticate`: callers without one of `roles` get 403. */
export const requireRole = (...roles: Role[]) =>
  createMiddleware<AppEnv>(async (c, next) => {
    assertRole(c.get("actor"), ...roles);
    await next();
  });

/** OpenAPI `security` of every protected route. */
export const bearerAuth = [{ Bearer: [] }];

/**
 * What a protected route spreads into `createRoute`: the bearer scheme in its docs and `authenticate` before
 * `after` (a role check, idempotency), so the two can never disagree.
 */
export function signedIn<const After extends MiddlewareHandler<AppEnv>[]>(...after: After) {
  const middleware: [typeof authenticate, ...After] = [authenticate, ...after];
  return { security: bearerAuth, middleware };
}

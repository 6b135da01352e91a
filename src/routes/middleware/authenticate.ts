import { createMiddleware } from "hono/factory";
import { DomainError } from "../../domain/shared/errors";
import { assertRole } from "../../domain/users/access";
import type { Role } from "../../domain/users/user";
import type { AppEnv } from "../lib/app-env";

const BEARER = /^Bearer\s+(\S+)$/i;

/** Verifies `Authorization: Bearer <jwt>` and puts the caller on `c.var.actor`. */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const match = BEARER.exec(c.req.header("Authorization") ?? "");
  if (!match?.[1]) throw new DomainError("UNAUTHENTICATED", "Send Authorization: Bearer <access token>");
  c.set("actor", await c.var.services.tokens.verify(match[1]));
  await next();
});

/** Runs after `authenticate`: callers without one of `roles` get 403. */
export const requireRole = (...roles: Role[]) =>
  createMiddleware<AppEnv>(async (c, next) => {
    assertRole(c.var.actor, ...roles);
    await next();
  });

/** OpenAPI `security` of every protected route. */
export const bearerAuth = [{ Bearer: [] }];

import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { Router } from "hono/router";
import type { ZodError } from "zod";
import type { FieldError } from "../../domain/shared/errors";
import type { AppEnv } from "./app-env";
import { problemResponses } from "./openapi-problems";
import { problem, problemResponse } from "./problem";

const UNKNOWN = { json: "is not a field of this request", query: "is not a parameter of this route" } as const;

export function fieldErrors(error: ZodError, target?: string): FieldError[] {
  const at = (path: PropertyKey[]) =>
    [target === "json" ? undefined : target, ...path].filter((p) => p !== undefined).join(".") || "(root)";
  return error.issues.flatMap((issue) =>
    // A strict object names every unknown key in one issue: one error per key, so each is named by its path.
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
          path: at([...issue.path, key]),
          message: UNKNOWN[target as keyof typeof UNKNOWN] ?? "is not allowed here",
        }))
      : [{ path: at(issue.path), message: issue.message }],
  );
}

/**
 * The query of a route that takes none: any parameter is a typo or a probe, refused like an unknown field of a
 * strict query schema (the same 400, the same `errors`). Checked by hand: a request without a query (nearly all
 * of them) costs one look at the URL instead of a schema parse.
 */
const refuseQuery: MiddlewareHandler<AppEnv> = async (c, next) => {
  const url = c.req.url;
  const start = url.indexOf("?");
  if (start === -1 || start === url.length - 1) return next();
  const names = Object.keys(c.req.query());
  if (names.length === 0) return next();
  const errors = names.map((name) => ({ path: `query.${name}`, message: UNKNOWN.query }));
  const detail = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
  return problemResponse(c, problem("VALIDATION_FAILED", detail, errors));
};

/**
 * Every router shares this hook: any failed request schema is a 400 VALIDATION_FAILED with paths.
 * And one input rule for every route registered through it: a route without a query schema refuses every
 * query parameter, and every route documents the 400 that answers an unknown one (and the 503 of a backing
 * service that is down) (bodies and queries are
 * strict objects where they are declared; test/e2e/input-rule.test.ts holds every route to that).
 */
export function createRouter(options: { router?: Router<[unknown, unknown]> } = {}) {
  const router = new OpenAPIHono<AppEnv>({
    // Hono types its router by its own handler tuple.
    ...(options.router ? { router: options.router as never } : {}),
    defaultHook: (result, c) => {
      if (!result.success) {
        const errors = fieldErrors(result.error as ZodError, result.target);
        const detail = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
        return problemResponse(c, problem("VALIDATION_FAILED", detail, errors));
      }
    },
  });
  const register = router.openapi;
  router.openapi = ((route, handler, hook) =>
    register(
      {
        ...route,
        ...(route.request?.query ? {} : { middleware: [...[route.middleware ?? []].flat(), refuseQuery] }),
        // Any route may meet an unknown parameter (400), and any that reaches the database or Redis may find
        // it down (503 with Retry-After); a route's own entries for those statuses take precedence.
        responses: { ...problemResponses("VALIDATION_FAILED", "UNAVAILABLE"), ...route.responses },
      },
      handler,
      hook,
    )) as typeof register;
  return router;
}

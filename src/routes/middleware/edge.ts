import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { Logger } from "../../infra/logger";
import { writeAccessLog } from "../../infra/logger";
import type { AppEnv } from "../lib/app-env";
import { problem, problemResponse } from "../lib/problem";
import { HARDENING_HEADERS, isHardened, needsNoStore } from "./response-headers";
import { TimeLimit } from "./time-limit";

/** A client's request id is echoed when it is a plain token of at most 255 characters; else we make one. */
const CLIENT_REQUEST_ID = /^[\w\-=]{1,255}$/;

/** The request's id: the client's `X-Request-Id` when it is a plain token, else a new UUID. */
export function requestIdOf(request: Request): string {
  const incoming = request.headers.get("X-Request-Id");
  return incoming !== null && CLIENT_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

export interface EdgeOptions {
  services: AppEnv["Variables"]["services"];
  logger: Logger;
  /** REQUEST_TIMEOUT_MS. */
  timeLimitMs: number;
  /** ACCESS_LOG_PROBES: an access line for every probe, not only for the failing ones. */
  logProbes: boolean;
  /** Fixed route paths (no parameter) and the methods each takes, read once every route is registered. */
  fixedPaths: () => Map<string, string[]>;
  methodNotAllowed: (c: Context, allowed: string[]) => Response;
}

/**
 * Everything every request goes through, in one middleware instead of six: one async frame and one pass over
 * the response instead of a layer each (each layer of Hono's chain costs a closure, a promise and a dispatch).
 * In order:
 * 1. the request id (the client's `X-Request-Id` if it is a plain token, else a new UUID) and the services;
 * 2. a path that names a fixed route (`/payments/process`) is that route's whatever the method: a wrong method
 *    is 405 with Allow, never a parameterised sibling (`GET /payments/{paymentId}`) refusing "process" as an id;
 * 3. the time limit: every request answers within REQUEST_TIMEOUT_MS (503 UNAVAILABLE with Retry-After past
 *    it). The work already under way is not cut off half-way: with an Idempotency-Key it sees this 503 as its
 *    answer, an answer with Retry-After is never stored, and the keyed unit of work rolls back and releases the
 *    key when it ends (a retry gets 409 until then); without a key the work finishes as after a lost connection;
 * 4. the response headers: `X-Request-Id`, the hardening headers (a route that set its own CSP, the /docs
 *    page, keeps its own), and `Cache-Control: no-store` where nothing chose a caching of its own;
 * 5. the request's metrics and its access line (none for a probe that succeeded, unless `logProbes`).
 */
export function edge(options: EdgeOptions): MiddlewareHandler<AppEnv> {
  const { services, logger, timeLimitMs, logProbes, fixedPaths, methodNotAllowed } = options;
  const timeLimit = new TimeLimit(timeLimitMs);
  let fixed: Map<string, string[]> | undefined;
  return async (c, next) => {
    const started = performance.now();
    const requestId = requestIdOf(c.req.raw);
    c.set("requestId", requestId);
    c.set("services", services);

    const method = c.req.method;
    fixed ??= fixedPaths();
    const allowed = fixed.get(c.req.path);
    if (allowed && !allowed.includes(method === "HEAD" ? "GET" : method)) {
      c.res = methodNotAllowed(c, allowed);
    } else {
      await withinTimeLimit(c, next(), timeLimit, timeLimitMs);
    }

    const res = c.res;
    const headers = res.headers;
    headers.set("X-Request-Id", requestId);
    // A response made by hardenedJson has them all already.
    if (!isHardened(res)) {
      if (headers.has("Content-Security-Policy")) {
        for (const [name, value] of HARDENING_HEADERS) if (!headers.has(name)) headers.set(name, value);
      } else {
        for (const [name, value] of HARDENING_HEADERS) headers.set(name, value);
      }
    }
    if (needsNoStore(method, c.req.path) && !headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");

    const status = res.status;
    const route = status === 404 && c.error === undefined ? "unmatched" : answeringRoute(c);
    const seconds = (performance.now() - started) / 1000;
    services.metrics.observeRequest(method, route, status, seconds);
    const path = c.req.path;
    if (logProbes || status >= 400 || !isProbe(path)) {
      writeAccessLog(logger, { requestId, method, path, route, status, ms: Math.round(seconds * 1000) });
    }
  };
}

/**
 * The template of the route the request was for: the first route's, not middleware's (a wildcard path), from the
 * one that answered on. The last route matched is not it: `GET /products/popular` also matches
 * `/products/:productId`, registered later, whose handler never runs (its hits were counted and logged as product
 * reads). A layer that answered before its route (a body limit's 413, the edge's 405) names the route it guarded.
 */
function answeringRoute(c: Context<AppEnv>): string {
  const routes = matchedRoutes(c);
  for (let i = c.req.routeIndex; i < routes.length; i++) {
    const path = (routes[i] as { path: string }).path;
    if (!path.includes("*")) return path;
  }
  return routes.at(-1)?.path ?? "";
}

/**
 * The paths a load balancer or an orchestrator asks many times a second per instance. Their successful answers
 * get no access line by default: they would be most of the log on a quiet day and tell nothing (the metrics
 * count them); a failing one (a 503 of /readyz, a 405) is logged like any request.
 */
const isProbe = (path: string): boolean => path === "/healthz" || path === "/readyz";

async function withinTimeLimit(
  c: Context<AppEnv>,
  work: Promise<void>,
  timeLimit: TimeLimit,
  limitMs: number,
): Promise<void> {
  if (await timeLimit.within(work)) return;
  // Whatever the abandoned work ends with has nobody to go to (its errors are logged by onError).
  work.catch(() => {});
  const seconds = Math.max(1, Math.ceil(limitMs / 1000));
  c.res = problemResponse(c, problem("UNAVAILABLE", `The request did not finish within ${limitMs} ms; retry shortly`), {
    "Retry-After": String(seconds),
  });
}

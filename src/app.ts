import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { routePath } from "hono/route";
import { PatternRouter } from "hono/router/pattern-router";
import type { Container } from "./container";
import { DomainError } from "./domain/shared/errors";
import { isDependencyUnavailable } from "./infra/dependency-errors";
import { authRouter } from "./routes/auth/auth.index";
import { balancesRouter } from "./routes/balances/balances.index";
import { eventsRouter } from "./routes/events/events.index";
import { createRouter } from "./routes/lib/create-router";
import { problem, problemResponse } from "./routes/lib/problem";
import { docsRouter } from "./routes/operations/docs";
import { operationsRouter } from "./routes/operations/operations.index";
import { usersRouter } from "./routes/users/users.index";

export const MAX_BODY_BYTES = 1024 * 1024;
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** Builds the HTTP app from a container; no module-level state, so tests build as many as they like. */
export function createApp(container: Container) {
  const { logger, services } = container;
  const app = createRouter();

  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    c.set("services", services);
    c.set("log", logger.child({ requestId: c.var.requestId }));
    await next();
    const route = c.res.status === 404 && c.error === undefined ? "unmatched" : routePath(c, -1);
    const seconds = (performance.now() - started) / 1000;
    services.metrics.httpRequests.inc({ method: c.req.method, route, status: c.res.status });
    services.metrics.httpDuration.observe({ method: c.req.method, route }, seconds);
    c.var.log.info(
      { method: c.req.method, path: c.req.path, route, status: c.res.status, ms: Math.round(seconds * 1000) },
      "request",
    );
  });
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        problemResponse(c, problem("PAYLOAD_TOO_LARGE", `Request bodies are limited to ${MAX_BODY_BYTES} bytes`)),
    }),
  );

  // Registration order is the order of the OpenAPI document (and of /docs): the shop first, operations last.
  app.route("/", authRouter);
  app.route("/", usersRouter);
  app.route("/", balancesRouter);
  app.route("/", eventsRouter);
  app.route("/", operationsRouter);
  app.route("/", docsRouter);

  app.openAPIRegistry.registerComponent("securitySchemes", "Bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "The `accessToken` from POST /api/v1/auth/login",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Kicks API",
      version: "1.0.0",
      description:
        "Backend of a sneaker shop built for drops. This version serves accounts (buyers, sellers, admins) and prepaid balances; products, coupons, orders, payments and refunds follow. Money is an integer number of KRW. Errors are RFC 9457 problem+json with a stable `code`; money-moving POSTs honour `Idempotency-Key`.",
    },
  });

  const allowedMethods = methodTable(app.routes);
  app.notFound((c) => {
    // The method table ignores a trailing slash, the app does not: such a path is unknown for every method.
    const allowed = c.req.path.length > 1 && c.req.path.endsWith("/") ? [] : allowedMethods(c.req.path);
    if (allowed.length > 0) {
      return problemResponse(
        c,
        problem("METHOD_NOT_ALLOWED", `${c.req.method} is not allowed here; use ${allowed.join(", ")}`),
        { Allow: allowed.join(", ") },
      );
    }
    return problemResponse(c, problem("ROUTE_NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`));
  });

  app.onError((error, c) => toProblemResponse(error, c));
  return app;
}

function toProblemResponse(error: Error, c: Context): Response {
  if (error instanceof DomainError) {
    const retryAfter = error.extensions?.retryAfterSeconds;
    const headers: Record<string, string> = retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) };
    // RFC 9110: a 401 names the scheme the client should use.
    if (error.code === "UNAUTHENTICATED") headers["WWW-Authenticate"] = 'Bearer realm="kicks"';
    return problemResponse(c, problem(error.code, error.message, error.errors, error.extensions), headers);
  }
  if (error instanceof HTTPException && error.status === 400 && /malformed json/i.test(error.message)) {
    return problemResponse(c, problem("MALFORMED_JSON", "The request body is not valid JSON"));
  }
  if (error instanceof HTTPException && error.status === 413) {
    return problemResponse(c, problem("PAYLOAD_TOO_LARGE", `Request bodies are limited to ${MAX_BODY_BYTES} bytes`));
  }
  if (error instanceof HTTPException && error.status === 415) {
    const message = "must be application/json";
    return problemResponse(
      c,
      problem("VALIDATION_FAILED", `Content-Type ${message}`, [{ path: "header.content-type", message }]),
    );
  }
  const logFailure = (message: string) =>
    (c.get("log") ?? console).error({ err: error, method: c.req.method, path: c.req.path }, message);
  if (isDependencyUnavailable(error)) {
    logFailure("dependency unavailable");
    return problemResponse(c, problem("UNAVAILABLE", "A backing service is unreachable; retry shortly"), {
      "Retry-After": "5",
    });
  }
  // Anything else is our bug: log it with its stack, tell the client nothing about internals.
  logFailure("unhandled error");
  return problemResponse(c, problem("INTERNAL", "Something went wrong on our side; the request id helps us find it"));
}

/** Which methods a path answers to, for 405 + Allow instead of a misleading 404. */
function methodTable(routes: { method: string; path: string }[]) {
  const router = new PatternRouter<true>();
  for (const route of routes) {
    if (METHODS.includes(route.method as (typeof METHODS)[number])) router.add(route.method, route.path, true);
  }
  return (path: string) => METHODS.filter((method) => router.match(method, path)[0].length > 0);
}

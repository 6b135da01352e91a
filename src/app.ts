import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { PatternRouter } from "hono/router/pattern-router";
import type { Container } from "./container";
import { DomainError } from "./domain/shared/errors";
import { isDependencyUnavailable } from "./infra/dependency-errors";
import type { Logger } from "./infra/logger";
import { authRouter } from "./routes/auth/auth.index";
import { balancesRouter } from "./routes/balances/balances.index";
import { couponsRouter } from "./routes/coupons/coupons.index";
import { eventsRouter } from "./routes/events/events.index";
import { createRouter } from "./routes/lib/create-router";
import { problem, problemResponse } from "./routes/lib/problem";
import { StaticFirstRouter } from "./routes/lib/static-first-router";
import { edge } from "./routes/middleware/edge";
import { modelsRouter } from "./routes/models/models.index";
import { docsRouter } from "./routes/operations/docs";
import { operationsRouter } from "./routes/operations/operations.index";
import { ordersRouter } from "./routes/orders/orders.index";
import { paymentsRouter } from "./routes/payments/payments.index";
import { productsRouter } from "./routes/products/products.index";
import { refundsRouter } from "./routes/refunds/refunds.index";
import { returnsRouter } from "./routes/returns/returns.index";
import { salesRouter } from "./routes/sales/sales.index";
import { usersRouter } from "./routes/users/users.index";

export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * Account bodies (sign-up, login, profile, password, admin-created users) are a few hundred bytes; the
 * largest legitimate one (a 2,000-character bio in 4-byte characters) stays well under this. Anonymous routes
 * that lead to password hashing should not read more.
 */
export const ACCOUNT_BODY_MAX_BYTES = 16 * 1024;
const ACCOUNT_PATHS = ["/api/v1/auth/*", "/api/v1/users/*", "/api/v1/admin/users"];
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
const BODY_METHODS = ["POST", "PUT", "PATCH", "DELETE"];

/** Builds the HTTP app from a container; no module-level state, so tests build as many as they like. */
export function createApp(container: Container) {
  const { logger, services } = container;
  const app = createRouter({ router: new StaticFirstRouter() });

  // One middleware for what every request needs (request id, 405s of fixed paths, time limit, headers, metrics,
  // access line): the fixed cost of a request, kept in one frame (src/routes/middleware/edge.ts).
  app.use(
    edge({
      services,
      logger,
      timeLimitMs: container.config.REQUEST_TIMEOUT_MS,
      logProbes: container.config.ACCESS_LOG_PROBES,
      fixedPaths: () => fixedPathTable(app.routes),
      methodNotAllowed,
    }),
  );
  const limitBodies = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: (c) =>
        problemResponse(c, problem("PAYLOAD_TOO_LARGE", `Request bodies here are limited to ${maxSize} bytes`)),
    });
  // Only where a request has a body to read: a GET or HEAD (every public read) skips a layer of the chain. A
  // body sent with one is never read, and Bun's own cap (Bun.serve's maxRequestBodySize) still bounds it.
  for (const path of ACCOUNT_PATHS) app.on(BODY_METHODS, path, limitBodies(ACCOUNT_BODY_MAX_BYTES));
  app.on(BODY_METHODS, "/api/*", limitBodies(MAX_BODY_BYTES));

  // Registration order is the order of the OpenAPI document (and of /docs): the shop first, operations last.
  app.route("/", authRouter);
  app.route("/", usersRouter);
  app.route("/", balancesRouter);
  app.route("/", salesRouter);
  app.route("/", productsRouter);
  app.route("/", modelsRouter);
  app.route("/", couponsRouter);
  app.route("/", ordersRouter);
  app.route("/", paymentsRouter);
  app.route("/", refundsRouter);
  app.route("/", returnsRouter);
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
    // Relative: the document describes whichever host serves it (one binary, many deployments).
    servers: [{ url: "/", description: "The server that serves this document" }],
    info: {
      title: "Kicks API",
      version: "1.0.0",
      description:
        "Backend of a sneaker shop built for drops: accounts (buyers, sellers, admins), prepaid balances, the product catalogue, coupons (with first-come-first-served limited issue), orders, payments and refunds, popular products and sales statistics, and the outbox of events for the data platform. Money is an integer number of KRW. Errors are RFC 9457 problem+json with a stable `code`; money-moving POSTs honour `Idempotency-Key`. Unknown query parameters and unknown body fields are refused on every route (400 VALIDATION_FAILED naming each in `errors`; request bodies are `additionalProperties: false`).\n\n" +
        "## Getting a token\n\n" +
        'Product reads need none. For everything else: sign up (`POST /api/v1/auth/signup` with `{ email, password, name }`, or `role: "SELLER"` and a `businessRegistrationNumber`), then log in:\n\n' +
        '```sh\ncurl -s http://localhost:3000/api/v1/auth/login -H \'Content-Type: application/json\' \\\n  -d \'{"email":"kim@example.com","password":"correct-horse-battery"}\'\n```\n\n' +
        "The answer's `accessToken` goes in `Authorization: Bearer <accessToken>` (here: Authentication, Bearer). Admins cannot sign up: the server creates one at start-up from `ADMIN_EMAIL` and `ADMIN_PASSWORD`, and `bun run seed` makes a demo shop whose logins it prints (docs/quickstart.md walks a whole purchase).",
    },
  });

  const allowedMethods = methodTable(app.routes);
  app.notFound((c) => {
    // The method table ignores a trailing slash, the app does not: such a path is unknown for every method.
    const allowed = c.req.path.length > 1 && c.req.path.endsWith("/") ? [] : allowedMethods(c.req.path);
    if (allowed.length > 0) return methodNotAllowed(c, allowed);
    return problemResponse(c, problem("ROUTE_NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`));
  });

  app.onError((error, c) => toProblemResponse(error, c, logger));
  return app;
}

function toProblemResponse(error: Error, c: Context, logger: Logger): Response {
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
    logger.error({ requestId: c.get("requestId"), err: error, method: c.req.method, path: c.req.path }, message);
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

function methodNotAllowed(c: Context, allowed: string[]): Response {
  return problemResponse(
    c,
    problem("METHOD_NOT_ALLOWED", `${c.req.method} is not allowed here; use ${allowed.join(", ")}`),
    { Allow: allowed.join(", ") },
  );
}

/** The methods of every route path without parameters or wildcards. */
function fixedPathTable(routes: { method: string; path: string }[]) {
  const table = new Map<string, string[]>();
  for (const { method, path } of routes) {
    if (!METHODS.includes(method as (typeof METHODS)[number]) || /[:*]/.test(path)) continue;
    const methods = table.get(path) ?? [];
    if (!methods.includes(method)) methods.push(method);
    table.set(path, methods);
  }
  for (const methods of table.values())
    methods.sort((a, b) => METHODS.indexOf(a as never) - METHODS.indexOf(b as never));
  return table;
}

/**
 * Which methods a path answers to, for 405 + Allow instead of a misleading 404. Wildcard paths are middleware
 * (the body limits, registered per method), not routes: they answer nothing.
 */
function methodTable(routes: { method: string; path: string }[]) {
  const router = new PatternRouter<true>();
  for (const route of routes) {
    if (METHODS.includes(route.method as (typeof METHODS)[number]) && !route.path.includes("*")) {
      router.add(route.method, route.path, true);
    }
  }
  return (path: string) => METHODS.filter((method) => router.match(method, path)[0].length > 0);
}

import { afterAll, describe, expect, it } from "bun:test";
import { openDatabase } from "../../src/infra/db/client";
import { createTestApp } from "../support/harness";

const t = await createTestApp();
afterAll(() => t.close());

describe("health", () => {
  it("GET /healthz answers 200 while the process lives", async () => {
    const res = await t.get("/healthz");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("GET /readyz answers 200 when the database (and Redis, if configured) answer", async () => {
    const res = await t.get("/readyz");
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("ready");
    expect(res.body.checks.database).toBe("up");
    expect(res.body.checks.redis).toBe(t.container.redis ? "up" : "not configured");
  });

  it("GET /readyz answers 503 when Redis cannot be reached", async () => {
    const broken = await createTestApp({ env: { REDIS_URL: "redis://127.0.0.1:1" } });
    try {
      const res = await broken.get("/readyz");
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: "unavailable", checks: { database: "up", redis: "down" } });
    } finally {
      broken.container.redis?.disconnect();
      await broken.close();
    }
  });
});

describe("GET /metrics", () => {
  it("exposes request counts and latency by route template in Prometheus text", async () => {
    const { user, token } = await t.registerUser("BUYER");
    await t.get(`/api/v1/balances/${user.id}`, { token });
    const res = await t.get("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(res.body).toContain('http_requests_total{method="GET",route="/api/v1/balances/:userId",status="200"} 1');
    expect(res.body).toContain(
      'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/balances/:userId"}',
    );
  });
});

describe("OpenAPI and docs", () => {
  it("serves an OpenAPI 3.1 document in which every operation lists its errors", async () => {
    const res = await t.get("/openapi.json");
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes.Bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.schemas.Problem).toBeDefined();
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, any>).map(([method, op]) => ({ path, method, op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(10);
    for (const { op } of operations) expect(Object.keys(op.responses)).toContain("500");
    const charge = doc.paths["/api/v1/balances/charge"].post;
    expect(charge.security).toEqual([{ Bearer: [] }]);
    expect(Object.keys(charge.responses)).toEqual(
      expect.arrayContaining(["200", "400", "401", "403", "404", "409", "422"]),
    );
    expect(charge.parameters.map((p: { name: string }) => p.name)).toContain("idempotency-key");
  });

  it("renders /docs with the Scalar script served locally, not from a CDN", async () => {
    const page = await t.app.request("/docs");
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain("/docs/scalar.js");
    expect(html).not.toMatch(/cdn\.jsdelivr|unpkg\.com/);
    // Nothing else on the page may call out either.
    expect(html).toMatch(/"withDefaultFonts": false/);
    expect(html).toMatch(/"telemetry": false/);
    const script = await t.app.request("/docs/scalar.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toContain("javascript");
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(1_000_000);
  });
});

describe("protocol errors", () => {
  it("answers an unknown route with 404 ROUTE_NOT_FOUND as problem+json", async () => {
    const res = await t.get("/api/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body).toMatchObject({ status: 404, code: "ROUTE_NOT_FOUND" });
  });

  it("answers a known path with the wrong method with 405 and an Allow header", async () => {
    const res = await t.request("DELETE", "/api/v1/auth/login");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(res.body.status).toBe(405);
  });

  it("answers a body over 1 MiB with 413", async () => {
    const res = await t.post("/api/v1/auth/signup", {
      email: "big@test.kicks",
      password: "x".repeat(1024 * 1024),
      name: "B",
    });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("generates an X-Request-Id, and echoes the client's", async () => {
    const generated = await t.get("/healthz");
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await t.get("/api/v1/nope", { headers: { "X-Request-Id": "client-trace-42" } });
    expect(echoed.headers.get("x-request-id")).toBe("client-trace-42");
    expect(echoed.body.requestId).toBe("client-trace-42");
  });
});

describe("dependency outages", () => {
  it("answers 503 UNAVAILABLE with Retry-After, not 500, when PostgreSQL cannot be reached", async () => {
    const unreachable = openDatabase({ url: "postgres://postgres@127.0.0.1:1/kicks", poolSize: 1, migrationsDir: "" });
    const down = await createTestApp({ database: unreachable });
    try {
      const { accessToken } = await down.container.services.tokens.issue({ userId: Bun.randomUUIDv7(), role: "ADMIN" });
      const res = await down.get(`/api/v1/balances/${Bun.randomUUIDv7()}`, { token: accessToken });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe("UNAVAILABLE");
      expect(res.headers.get("Retry-After")).toBe("5");
      const ready = await down.get("/readyz");
      expect(ready.status).toBe(503);
      expect(ready.body.checks.database).toBe("down");
    } finally {
      await down.close();
      await unreachable.close();
    }
  });
});

describe("request format", () => {
  it("answers a JSON body sent with another Content-Type with 400 VALIDATION_FAILED, not 500", async () => {
    const body = JSON.stringify({ email: `ct-${crypto.randomUUID()}@test.kicks`, password: "password-1", name: "C" });
    for (const contentType of ["text/plain", ""]) {
      const res = await t.request("POST", "/api/v1/auth/signup", body, { headers: { "Content-Type": contentType } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors).toEqual([{ path: "header.content-type", message: "must be application/json" }]);
    }
  });

  it.each([
    ["GET", "/healthz/"],
    ["POST", "/healthz/"],
    ["DELETE", "/api/v1/users/me/"],
  ])("answers %s %s (a trailing slash) with 404, not a 405", async (method, path) => {
    const res = await t.request(method, path);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("ROUTE_NOT_FOUND");
  });

  it("names the Bearer scheme on every 401", async () => {
    const res = await t.get("/api/v1/users/me");
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toStartWith("Bearer");
  });
});

describe("GET /metrics with METRICS_TOKEN set", () => {
  it("answers 401 without the token or with a wrong one, 200 with Authorization: Bearer <METRICS_TOKEN>", async () => {
    const token = `metrics-${crypto.randomUUID()}`;
    const guarded = await createTestApp({ env: { METRICS_TOKEN: token } });
    try {
      const anonymous = await guarded.get("/metrics");
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.code).toBe("UNAUTHENTICATED");
      expect(anonymous.headers.get("www-authenticate")).toContain("Bearer");
      expect(JSON.stringify(anonymous.body)).not.toContain("http_requests_total");
      expect((await guarded.get("/metrics", { headers: { Authorization: `Bearer ${token}x` } })).status).toBe(401);
      expect((await guarded.get("/metrics", { headers: { Authorization: token } })).status).toBe(401);
      const allowed = await guarded.get("/metrics", { headers: { Authorization: `Bearer ${token}` } });
      expect(allowed.status).toBe(200);
      expect(allowed.body).toContain("http_requests_total");
    } finally {
      await guarded.close();
    }
  });
});

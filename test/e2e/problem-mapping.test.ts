import { afterAll, describe, expect, it } from "bun:test";
import { DomainError } from "../../src/domain/shared/errors";
import { type ErrorCode, errorCatalog } from "../../src/routes/lib/error-catalog";
import { ProblemSchema, problemResponses } from "../../src/routes/lib/openapi-problems";
import { problem } from "../../src/routes/lib/problem";
import { createTestApp } from "../support/harness";

const codes = Object.keys(errorCatalog) as ErrorCode[];
const LEAKED_INTERNALS = /boom|secret|select \*|\.ts:\d+|stack|at .+\(/i;

const t = await createTestApp();
afterAll(() => t.close());

describe("problem()", () => {
  it.each(codes)("builds the %s document from the catalog", (code) => {
    const document = problem(code, `detail of ${code}`);
    expect(document).toEqual({
      type: `urn:kicks:problem:${code.toLowerCase().replaceAll("_", "-")}`,
      title: errorCatalog[code].title,
      status: errorCatalog[code].status,
      detail: `detail of ${code}`,
      code,
    });
  });

  it("gives every code its own problem type", () => {
    const types = codes.map((code) => problem(code, "").type);
    expect(new Set(types).size).toBe(codes.length);
  });

  it("adds field errors only when there are some", () => {
    const errors = [{ path: "amount", message: "must be an integer" }];
    expect(problem("VALIDATION_FAILED", "bad", errors).errors).toEqual(errors);
    expect(problem("VALIDATION_FAILED", "bad")).not.toHaveProperty("errors");
  });

  it("keeps the catalog's status, code and title when an extension names the same members", () => {
    const document = problem("PAYMENT_DECLINED", "declined", undefined, {
      paymentId: "pay-1",
      status: 200,
      code: "INTERNAL",
      title: "fine",
    });
    expect(document).toMatchObject({
      paymentId: "pay-1",
      status: 402,
      code: "PAYMENT_DECLINED",
      title: "Payment declined",
    });
  });
});

describe("problemResponses()", () => {
  it("groups the codes by status and names each in its status's description", () => {
    const responses = problemResponses("EMAIL_TAKEN", "USER_NOT_FOUND", "VERSION_CONFLICT", "VALIDATION_FAILED");
    expect(Object.keys(responses).sort()).toEqual(["400", "404", "409", "500", "503"]);
    expect(responses[409]?.description).toContain("`EMAIL_TAKEN`");
    expect(responses[409]?.description).toContain("`VERSION_CONFLICT`");
    expect(responses[409]?.description).not.toContain("USER_NOT_FOUND");
    expect(responses[404]?.description).toContain("`USER_NOT_FOUND`");
    expect(responses[400]?.description).toContain("`VALIDATION_FAILED`");
  });

  it("always lists 500 INTERNAL and 503 UNAVAILABLE (time limit, dependency down), even for a route without other errors", () => {
    const responses = problemResponses();
    expect(Object.keys(responses)).toEqual(["500", "503"]);
    expect(responses[500]?.description).toContain("`INTERNAL`");
    expect(responses[503]?.description).toContain("`UNAVAILABLE`");
  });

  it("describes every status with the problem+json schema", () => {
    for (const response of Object.values(problemResponses(...codes))) {
      expect(response.content).toEqual({ "application/problem+json": { schema: ProblemSchema } });
    }
  });

  it("covers every status of the catalog when given every code", () => {
    const statuses = new Set(codes.map((code) => String(errorCatalog[code].status)));
    expect(new Set(Object.keys(problemResponses(...codes)))).toEqual(statuses);
  });
});

/** An app of its own whose `users.getUser` throws `error` (internal fault injection), and a caller's token. */
async function appWhoseGetUserThrows(error: Error) {
  const app = await createTestApp();
  const { token } = await app.registerUser();
  app.container.services.users.getUser = async () => {
    throw error;
  };
  return { app, token };
}

describe("errors through the app", () => {
  it("maps a service's DomainError to problem+json with its status", async () => {
    // An admin asks for the balance of a user that does not exist: the service, not the middleware, answers.
    const admin = await t.registerUser("ADMIN");
    const res = await t.get(`/api/v1/balances/${Bun.randomUUIDv7()}`, admin);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body).toMatchObject({
      status: 404,
      code: "USER_NOT_FOUND",
      title: "User not found",
      type: "urn:kicks:problem:user-not-found",
      detail: expect.any(String),
      requestId: res.headers.get("x-request-id"),
    });
  });

  it("maps a DomainError thrown by a middleware the same way", async () => {
    const res = await t.get("/api/v1/users/me", { token: "not.a.jwt" });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body).toMatchObject({ status: 401, code: "UNAUTHENTICATED" });
  });

  it("keeps a DomainError's field errors and extensions in the problem document", async () => {
    const error = new DomainError(
      "VERSION_CONFLICT",
      "The profile changed meanwhile",
      [{ path: "name", message: "stale" }],
      {
        currentVersion: 7,
      },
    );
    const { app, token } = await appWhoseGetUserThrows(error);
    try {
      const res = await app.get("/api/v1/users/me", { token });
      expect(res.status).toBe(409);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(res.body).toEqual({
        type: "urn:kicks:problem:version-conflict",
        title: "Version conflict",
        status: 409,
        detail: "The profile changed meanwhile",
        code: "VERSION_CONFLICT",
        errors: [{ path: "name", message: "stale" }],
        currentVersion: 7,
        requestId: res.headers.get("x-request-id"),
      });
    } finally {
      await app.close();
    }
  });

  describe("an unexpected error", () => {
    const appWhoseGetUserFails = () =>
      appWhoseGetUserThrows(new Error("boom at /secret/path.ts:12 select * from users"));

    // There is no setting that shows internals (no "development mode"), so one case covers every deployment.
    it("answers 500 INTERNAL without internals", async () => {
      const { app, token } = await appWhoseGetUserFails();
      try {
        const res = await app.get("/api/v1/users/me", { token });
        expect(res.status).toBe(500);
        expect(res.headers.get("content-type")).toContain("application/problem+json");
        expect(res.body).toMatchObject({
          status: 500,
          code: "INTERNAL",
          title: "Internal server error",
          type: "urn:kicks:problem:internal",
        });
        expect(JSON.stringify(res.body)).not.toMatch(LEAKED_INTERNALS);
      } finally {
        await app.close();
      }
    });

    it("carries the generated request id in the body and the X-Request-Id header", async () => {
      const { app, token } = await appWhoseGetUserFails();
      try {
        const res = await app.get("/api/v1/users/me", { token });
        expect(res.status).toBe(500);
        const header = res.headers.get("x-request-id");
        expect(header).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.body.requestId).toBe(header);
      } finally {
        await app.close();
      }
    });

    it("logs the failure and the request's access line under the request's id", async () => {
      const logs: Record<string, any>[] = [];
      const app = await createTestApp({ logs, env: { LOG_LEVEL: "info" } });
      const { token } = await app.registerUser();
      app.container.services.users.getUser = async () => {
        throw new Error("boom");
      };
      try {
        const requestId = `support-${crypto.randomUUID()}`;
        await app.get("/api/v1/users/me", { token, headers: { "X-Request-Id": requestId } });
        const lines = logs.filter((line) => line.requestId === requestId);
        expect(lines.map((line) => line.msg)).toEqual(["unhandled error", "request"]);
        expect(lines[0]).toMatchObject({ level: "error", service: "kicks", method: "GET", err: { type: "Error" } });
        expect(lines[1]).toMatchObject({
          level: "info",
          service: "kicks",
          method: "GET",
          path: "/api/v1/users/me",
          route: "/api/v1/users/me",
          status: 500,
          ms: expect.any(Number),
        });
      } finally {
        await app.close();
      }
    });

    it("echoes the client's X-Request-Id in the header and the body", async () => {
      const { app, token } = await appWhoseGetUserFails();
      try {
        const requestId = `support-${crypto.randomUUID()}`;
        const res = await app.get("/api/v1/users/me", { token, headers: { "X-Request-Id": requestId } });
        expect(res.status).toBe(500);
        expect(res.headers.get("x-request-id")).toBe(requestId);
        expect(res.body.requestId).toBe(requestId);
      } finally {
        await app.close();
      }
    });
  });
});

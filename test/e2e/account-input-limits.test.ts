import { afterAll, describe, expect, it } from "bun:test";
import { createTestApp } from "../support/harness";

// Issue 17 §3: zod's email pattern backtracks; a megabyte of "a." took seconds of the event loop per request.
const t = await createTestApp();
afterAll(() => t.close());
const admin = await t.registerUser("ADMIN");

/** The shape that made the email pattern backtrack longest. */
const hostileEmail = (bytes: number) => `${"a.".repeat(Math.floor(bytes / 2))}@x.com`;
const account = (email: string) => ({ email, password: "a-long-enough-password", name: "Hostile" });

describe("account routes read small bodies only", () => {
  const routes: [string, string, (email: string) => unknown, { token?: string }][] = [
    ["POST", "/api/v1/auth/signup", account, {}],
    ["POST", "/api/v1/auth/login", (email) => ({ email, password: "whatever" }), {}],
    ["POST", "/api/v1/admin/users", (email) => ({ ...account(email), role: "BUYER" }), admin],
    ["PATCH", "/api/v1/users/me", (email) => ({ bio: email }), admin],
  ];
  for (const [method, path, body, auth] of routes) {
    it(`${method} ${path}: 413 PAYLOAD_TOO_LARGE for a body over 16 KiB, answered at once`, async () => {
      const started = performance.now();
      const res = await t.request(method, path, body(hostileEmail(1024 * 1024 - 100)), auth);
      expect(res.status).toBe(413);
      expect(res.body.code).toBe("PAYLOAD_TOO_LARGE");
      expect(performance.now() - started).toBeLessThan(500);
    });
  }

  it("still takes the largest legitimate profile (a 2,000-character bio of 4-byte characters)", async () => {
    const res = await t.patch("/api/v1/users/me", { bio: "👟".repeat(2000) }, admin);
    expect(res.status).toBe(200);
  });
});

describe("length before format", () => {
  it("refuses an over-long email for its length alone, never running the format check over it", async () => {
    for (const [path, body] of [
      ["/api/v1/auth/signup", account(hostileEmail(12_000))],
      ["/api/v1/admin/users", { ...account(hostileEmail(12_000)), role: "BUYER" }],
    ] as const) {
      const res = await t.post(path, body, path.includes("admin") ? admin : {});
      expect(res.status).toBe(400);
      const onEmail = res.body.errors.filter((e: { path: string }) => e.path === "email");
      expect(onEmail).toHaveLength(1);
      expect(onEmail[0].message).toMatch(/254/);
    }
  });

  it("refuses an over-long name without looking for control characters in it", async () => {
    const res = await t.post("/api/v1/auth/signup", {
      ...account("long-name@test.kicks"),
      name: "\u0000".repeat(2000),
    });
    expect(res.status).toBe(400);
    const onName = res.body.errors.filter((e: { path: string }) => e.path === "name");
    expect(onName).toHaveLength(1);
    expect(onName[0].message).toMatch(/100/);
  });
});

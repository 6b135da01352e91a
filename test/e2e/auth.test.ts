import { afterAll, describe, expect, it } from "bun:test";
import { createTestApp, hasRedis } from "../support/harness";

const t = await createTestApp();
afterAll(() => t.close());

const unique = () => `user-${crypto.randomUUID()}@test.kicks`;

describe("POST /api/v1/auth/signup", () => {
  it("creates a buyer by default and never returns a password hash", async () => {
    const email = unique();
    const res = await t.post("/api/v1/auth/signup", { email, password: "password-1", name: "Kim" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email, name: "Kim", role: "BUYER", bio: null });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(res.body.createdAt).toISOString()).toBe(res.body.createdAt);
    expect(JSON.stringify(res.body)).not.toMatch(/password|hash/i);
    expect(res.body).not.toHaveProperty("businessRegistrationNumber");
    expect(res.body).not.toHaveProperty("adminCode");
  });

  it("stores emails lower-cased, so a differently cased duplicate is EMAIL_TAKEN", async () => {
    const email = unique();
    expect(
      (await t.post("/api/v1/auth/signup", { email: email.toUpperCase(), password: "password-1", name: "A" })).body
        .email,
    ).toBe(email);
    const again = await t.post("/api/v1/auth/signup", { email, password: "password-2", name: "B" });
    expect(again.status).toBe(409);
    expect(again.headers.get("content-type")).toContain("application/problem+json");
    expect(again.body).toMatchObject({
      status: 409,
      code: "EMAIL_TAKEN",
      title: expect.any(String),
      type: expect.any(String),
    });
  });

  it("creates a seller with a checksum-valid business registration number", async () => {
    const res = await t.post("/api/v1/auth/signup", {
      email: unique(),
      password: "password-1",
      name: "Shop",
      role: "SELLER",
      businessRegistrationNumber: "124-81-00998",
      bio: "Limited drops",
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      role: "SELLER",
      businessRegistrationNumber: "124-81-00998",
      bio: "Limited drops",
    });
  });

  it.each([
    ["missing", {}],
    ["badly formatted", { businessRegistrationNumber: "1248100998" }],
    ["with a wrong check digit", { businessRegistrationNumber: "124-81-00997" }],
  ])("refuses a seller whose business registration number is %s", async (_, extra) => {
    const res = await t.post("/api/v1/auth/signup", {
      email: unique(),
      password: "password-1",
      name: "S",
      role: "SELLER",
      ...extra,
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(res.body.errors).toContainEqual(expect.objectContaining({ path: "businessRegistrationNumber" }));
  });

  it("refuses a business registration number on a buyer", async () => {
    const res = await t.post("/api/v1/auth/signup", {
      email: unique(),
      password: "password-1",
      name: "B",
      businessRegistrationNumber: "124-81-00998",
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe("businessRegistrationNumber");
  });

  it("does not let anyone sign up as ADMIN", async () => {
    const res = await t.post("/api/v1/auth/signup", {
      email: unique(),
      password: "password-1",
      name: "X",
      role: "ADMIN",
    });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe("role");
  });

  it.each([
    ["a password under 8 characters", { password: "short" }, "password"],
    ["a password over 72 characters", { password: "x".repeat(73) }, "password"],
    ["an invalid email", { email: "not-an-email" }, "email"],
    ["an empty name", { name: "  " }, "name"],
  ])("answers VALIDATION_FAILED with the field's path for %s", async (_, override, path) => {
    const res = await t.post("/api/v1/auth/signup", {
      email: unique(),
      password: "password-1",
      name: "N",
      ...override,
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([path]);
  });

  it("answers MALFORMED_JSON for a body that is not JSON", async () => {
    const res = await t.post("/api/v1/auth/signup", '{"email": "a@b.c", ');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("MALFORMED_JSON");
  });

  it("validates a request sent without a Content-Type instead of skipping validation", async () => {
    const res = await t.request("POST", "/api/v1/auth/signup");
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
  });
});

describe("POST /api/v1/auth/login", () => {
  it("returns a bearer token and the user for the right password", async () => {
    const email = unique();
    await t.post("/api/v1/auth/signup", { email, password: "password-1", name: "L" });
    const res = await t.post("/api/v1/auth/login", { email: email.toUpperCase(), password: "password-1" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: "Bearer", expiresIn: 3600, user: { email } });
    expect(res.body.accessToken.split(".")).toHaveLength(3);
  });

  it("answers INVALID_CREDENTIALS for a wrong password and for an unknown email alike", async () => {
    const email = unique();
    await t.post("/api/v1/auth/signup", { email, password: "password-1", name: "L" });
    const wrong = await t.post("/api/v1/auth/login", { email, password: "password-2" });
    const unknown = await t.post("/api/v1/auth/login", { email: unique(), password: "password-1" });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("INVALID_CREDENTIALS");
    }
    expect(wrong.body.detail).toBe(unknown.body.detail);
  });
});

describe("login throttling", () => {
  it("refuses an email with 429 RATE_LIMITED after 10 failed logins, even with the right password", async () => {
    const email = unique();
    await t.post("/api/v1/auth/signup", { email, password: "password-1", name: "Target" });
    for (let i = 0; i < 10; i++) {
      expect((await t.post("/api/v1/auth/login", { email, password: `guess-${i}` })).status).toBe(401);
    }
    const blocked = await t.post("/api/v1/auth/login", { email, password: "password-1" });
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe("RATE_LIMITED");
    const retryAfter = Number(blocked.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(300);
    // Other accounts are unaffected.
    const other = unique();
    await t.post("/api/v1/auth/signup", { email: other, password: "password-1", name: "Other" });
    expect((await t.post("/api/v1/auth/login", { email: other, password: "password-1" })).status).toBe(200);
  });

  it("cannot be slipped under with parallel guesses: at most 10 are even checked", async () => {
    const email = unique();
    await t.post("/api/v1/auth/signup", { email, password: "password-1", name: "Parallel" });
    const guesses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => t.post("/api/v1/auth/login", { email, password: `guess-${i}` })),
    );
    const statuses = guesses.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    expect((await t.post("/api/v1/auth/login", { email, password: "password-1" })).status).toBe(429);
  });

  it("forgets earlier failures after a successful login", async () => {
    const email = unique();
    await t.post("/api/v1/auth/signup", { email, password: "password-1", name: "Forgetful" });
    for (let i = 0; i < 9; i++) await t.post("/api/v1/auth/login", { email, password: "wrong-password" });
    expect((await t.post("/api/v1/auth/login", { email, password: "password-1" })).status).toBe(200);
    for (let i = 0; i < 9; i++) await t.post("/api/v1/auth/login", { email, password: "wrong-password" });
    expect((await t.post("/api/v1/auth/login", { email, password: "password-1" })).status).toBe(200);
  });
});

describe("free text", () => {
  it.each([
    ["a NUL in the name", { name: "Kim\u0000Minji" }, "name"],
    ["a line break in the name", { name: "Kim\nMinji" }, "name"],
    ["an escape character in the bio", { bio: "hi \u001b[31m" }, "bio"],
    ["a right-to-left override in the name", { name: "Kim\u202egnp.exe" }, "name"],
    ["a C1 control in the name", { name: "Kim\u0085" }, "name"],
    ["a line separator in the bio", { bio: "one\u2028two" }, "bio"],
  ])("refuses %s with VALIDATION_FAILED instead of failing in the database", async (_, extra, path) => {
    const res = await t.post("/api/v1/auth/signup", { email: unique(), password: "password-1", name: "N", ...extra });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toEqual({ path, message: "must not contain control characters" });
  });

  it("keeps emoji sequences joined by zero-width joiners", async () => {
    const name = "Kim \u{1F469}\u200D\u{1F45F}";
    const res = await t.post("/api/v1/auth/signup", { email: unique(), password: "password-1", name });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe(name);
  });

  it("keeps line breaks and tabs in a bio", async () => {
    const res = await t.post("/api/v1/auth/signup", {
      email: unique(),
      password: "password-1",
      name: "Multi",
      bio: "line one\n\tline two",
    });
    expect(res.status).toBe(201);
    expect(res.body.bio).toBe("line one\n\tline two");
  });

  it("refuses an oversized login before hashing or counting anything", async () => {
    const res = await t.post("/api/v1/auth/login", { email: `${"x".repeat(300)}@test.kicks`, password: "p" });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe("email");
  });
});

describe.skipIf(!hasRedis)("login throttling in Redis", () => {
  it("keys its counters by a keyed hash, not by the address or its plain hash", async () => {
    const email = unique();
    await t.post("/api/v1/auth/login", { email, password: "wrong-password" });
    const redis = t.container.redis as NonNullable<typeof t.container.redis>;
    const prefix = t.container.config.REDIS_KEY_PREFIX;
    const keys = (await redis.keys(`${prefix}counter:login-attempts:*`)).map((key) => key.slice(prefix.length));
    expect(keys.length).toBeGreaterThan(0);
    const plainHash = new Bun.CryptoHasher("sha256").update(email).digest("hex");
    for (const key of keys) {
      expect(key).not.toContain(email);
      expect(key).not.toContain(plainHash);
    }
  });
});

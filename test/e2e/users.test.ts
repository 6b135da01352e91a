import { afterAll, describe, expect, it } from "bun:test";
import { createTestApp } from "../support/harness";

const t = await createTestApp();
afterAll(() => t.close());

describe("GET /api/v1/users/me", () => {
  it("returns the caller", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const res = await t.get("/api/v1/users/me", { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(user);
  });

  it.each([
    ["no Authorization header", undefined],
    ["a malformed token", "Bearer not.a.jwt"],
    [
      "a token signed with another key",
      "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwicm9sZSI6IkFETUlOIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJl",
    ],
    ["another scheme", "Basic dXNlcjpwYXNz"],
  ])("answers 401 UNAUTHENTICATED for %s", async (_, authorization) => {
    const res = await t.get("/api/v1/users/me", { headers: authorization ? { Authorization: authorization } : {} });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
  });

  it("answers 401 for an expired token", async () => {
    const { sign } = await import("hono/jwt");
    const { TEST_JWT_SECRET } = await import("../support/harness");
    const { user } = await t.registerUser("BUYER");
    const past = Math.floor(Date.now() / 1000) - 60;
    const token = await sign(
      { iss: "kicks", sub: user.id, role: "BUYER", iat: past - 3600, exp: past },
      TEST_JWT_SECRET,
      "HS256",
    );
    const res = await t.get("/api/v1/users/me", { token });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
  });
});

describe("PATCH /api/v1/users/me", () => {
  it("edits the name and bio and keeps the rest", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const res = await t.patch("/api/v1/users/me", { name: "New Name", bio: "Runs in Jordans" }, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ...user, name: "New Name", bio: "Runs in Jordans" });
    expect((await t.get("/api/v1/users/me", { token })).body.bio).toBe("Runs in Jordans");
  });

  it("lets a seller change the business registration number, checksum included", async () => {
    const { token } = await t.registerUser("SELLER");
    const ok = await t.patch("/api/v1/users/me", { businessRegistrationNumber: "220-81-62517" }, { token });
    expect(ok.status).toBe(200);
    expect(ok.body.businessRegistrationNumber).toBe("220-81-62517");
    const bad = await t.patch("/api/v1/users/me", { businessRegistrationNumber: "220-81-62518" }, { token });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("businessRegistrationNumber");
  });

  it("refuses seller fields on a buyer", async () => {
    const { token } = await t.registerUser("BUYER");
    const res = await t.patch("/api/v1/users/me", { businessRegistrationNumber: "220-81-62517" }, { token });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
  });

  it.each([
    ["an empty body", {}],
    ["an unknown field", { role: "ADMIN" }],
    ["an email change", { email: "x@y.z" }],
  ])("refuses %s with VALIDATION_FAILED", async (_, body) => {
    const { token } = await t.registerUser("BUYER");
    const res = await t.patch("/api/v1/users/me", body, { token });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect((await t.get("/api/v1/users/me", { token })).body.role).toBe("BUYER");
  });
});

describe("POST /api/v1/admin/users", () => {
  const email = () => `made-${crypto.randomUUID()}@test.kicks`;

  it("lets an admin create an admin, who gets an admin code and a bio", async () => {
    const { token } = await t.registerUser("ADMIN");
    const res = await t.post(
      "/api/v1/admin/users",
      { email: email(), password: "password-1", name: "Ops", role: "ADMIN", bio: "On call" },
      { token },
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      role: "ADMIN",
      bio: "On call",
      adminCode: expect.stringMatching(/^ADM-[0-9A-F]{8}$/),
    });
    const login = await t.post("/api/v1/auth/login", { email: res.body.email, password: "password-1" });
    expect(login.body.user.role).toBe("ADMIN");
  });

  it("keeps an admin code the admin chose", async () => {
    const { token } = await t.registerUser("ADMIN");
    const res = await t.post(
      "/api/v1/admin/users",
      { email: email(), password: "password-1", name: "Ops", role: "ADMIN", adminCode: "OPS-7" },
      { token },
    );
    expect(res.body.adminCode).toBe("OPS-7");
  });

  it("creates sellers and buyers with the same rules as sign-up", async () => {
    const { token } = await t.registerUser("ADMIN");
    const seller = await t.post(
      "/api/v1/admin/users",
      { email: email(), password: "password-1", name: "S", role: "SELLER", businessRegistrationNumber: "124-81-00998" },
      { token },
    );
    expect(seller.status).toBe(201);
    const noBrn = await t.post(
      "/api/v1/admin/users",
      { email: email(), password: "password-1", name: "S", role: "SELLER" },
      { token },
    );
    expect(noBrn.status).toBe(400);
    const buyerWithCode = await t.post(
      "/api/v1/admin/users",
      { email: email(), password: "password-1", name: "B", role: "BUYER", adminCode: "X" },
      { token },
    );
    expect(buyerWithCode.status).toBe(400);
    expect(buyerWithCode.body.errors[0].path).toBe("adminCode");
  });

  it("answers EMAIL_TAKEN for an existing email", async () => {
    const { token } = await t.registerUser("ADMIN");
    const { email: taken } = await t.registerUser("BUYER");
    const res = await t.post(
      "/api/v1/admin/users",
      { email: taken, password: "password-1", name: "X", role: "BUYER" },
      { token },
    );
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("EMAIL_TAKEN");
  });

  it.each(["BUYER", "SELLER"] as const)("forbids a %s", async (role) => {
    const { token } = await t.registerUser(role);
    const res = await t.post(
      "/api/v1/admin/users",
      { email: email(), password: "password-1", name: "X", role: "ADMIN" },
      { token },
    );
    expect(res.status).toBe(403);
    expect(res.body.code).toBe("FORBIDDEN");
  });

  it("requires a token", async () => {
    const res = await t.post("/api/v1/admin/users", {
      email: email(),
      password: "password-1",
      name: "X",
      role: "ADMIN",
    });
    expect(res.status).toBe(401);
  });
});

describe("admin bootstrap", () => {
  it("creates the configured admin once, however often it runs", async () => {
    const email = `boot-${crypto.randomUUID()}@test.kicks`;
    const { users } = t.container.services;
    expect(await users.ensureAdmin(email, "bootstrap-pass")).toBe("created");
    expect(await users.ensureAdmin(email, "another-pass")).toBe("exists");
    const login = await t.post("/api/v1/auth/login", { email, password: "bootstrap-pass" });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ role: "ADMIN", adminCode: expect.any(String) });
  });

  it("reports an ADMIN_EMAIL already used by a buyer as taken, and leaves that user as it is", async () => {
    const { email, user } = await t.registerUser("BUYER");
    expect(await t.container.services.users.ensureAdmin(email, "bootstrap-pass")).toBe("taken");
    const login = await t.post("/api/v1/auth/login", { email, password: "test-password-1" });
    expect(login.body.user).toEqual(user);
  });

  it("lets concurrent instances race without duplicates or errors", async () => {
    const email = `race-${crypto.randomUUID()}@test.kicks`;
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => t.container.services.users.ensureAdmin(email, "bootstrap-pass")),
    );
    expect(outcomes.filter((o) => o === "created")).toHaveLength(1);
  });
});

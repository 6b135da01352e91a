import { afterAll, describe, expect, it } from "bun:test";
import { commonPasswordCount } from "../../src/domain/users/password-policy";
import { createTestApp } from "../support/harness";

// Issue 17 §6: `password`, `12345678` and a password containing the email's name were accepted.
const t = await createTestApp();
afterAll(() => t.close());
const admin = await t.registerUser("ADMIN");

const signUp = (email: string, password: string) => t.post("/api/v1/auth/signup", { email, password, name: "New" });

describe("password rules on sign-up and on admin-created users", () => {
  it("bundles a list of a few thousand common passwords (no network)", () => {
    expect(commonPasswordCount()).toBeGreaterThan(3000);
  });

  it("refuses the most common passwords, in any case, with 400 VALIDATION_FAILED naming password", async () => {
    for (const password of ["password", "12345678", "PASSWORD", "qwertyuiop", "iloveyou", "Baseball"]) {
      const res = await signUp(`weak-${crypto.randomUUID()}@test.kicks`, password);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors).toEqual([{ path: "password", message: expect.stringContaining("common") }]);
    }
  });

  it("refuses a password that contains the email's local part", async () => {
    const res = await signUp("minji.kim@test.kicks", "MINJI.KIM-2026!");
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: "password", message: expect.stringContaining("name") }]);
    const viaAdmin = await t.post(
      "/api/v1/admin/users",
      { email: "ops-team@test.kicks", password: "ops-team-rocks", name: "Ops", role: "ADMIN" },
      admin,
    );
    expect(viaAdmin.status).toBe(400);
    expect(viaAdmin.body.errors.map((e: { path: string }) => e.path)).toEqual(["password"]);
  });

  it("accepts an uncommon password that does not name the account", async () => {
    const res = await signUp(`fine-${crypto.randomUUID()}@test.kicks`, "violet-kangaroo-42");
    expect(res.status).toBe(201);
  });
});

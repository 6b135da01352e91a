import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { createTestApp, hasRedis, type TestApp } from "../support/harness";

// Issue 17 §2: a token must not outlive its user's rights. This app reads token states on every request, so
// changes made behind the service's back (SQL) count at once; the cached path is tried across two instances.
const t = await createTestApp({ env: { TOKEN_STATE_CACHE_MS: "0" } });
afterAll(() => t.close());

const logIn = (app: TestApp, email: string, password: string) => app.post("/api/v1/auth/login", { email, password });
const me = (app: TestApp, token: string) => app.get("/api/v1/users/me", { token });

describe("POST /api/v1/auth/logout", () => {
  it("answers 204 and refuses every token of the caller from then on; a new login works", async () => {
    const buyer = await t.registerUser("BUYER");
    const other = (await logIn(t, buyer.email, buyer.password)).body.accessToken as string;
    expect((await me(t, other)).status).toBe(200);
    const res = await t.post("/api/v1/auth/logout", undefined, buyer);
    expect(res.status).toBe(204);
    for (const token of [buyer.token, other]) {
      const refused = await me(t, token);
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe("UNAUTHENTICATED");
    }
    const again = await logIn(t, buyer.email, buyer.password);
    expect((await me(t, again.body.accessToken)).status).toBe(200);
  });

  it("needs a token", async () => {
    expect((await t.post("/api/v1/auth/logout")).status).toBe(401);
  });
});

describe("POST /api/v1/users/me/password", () => {
  it("changes the password: the caller's token goes on, every other one stops, the old password is refused", async () => {
    const buyer = await t.registerUser("BUYER");
    const other = (await logIn(t, buyer.email, buyer.password)).body.accessToken as string;
    const res = await t.post(
      "/api/v1/users/me/password",
      { currentPassword: buyer.password, newPassword: "violet-kangaroo-42" },
      buyer,
    );
    expect(res.status).toBe(204);
    expect((await me(t, buyer.token)).status).toBe(200);
    expect((await me(t, other)).status).toBe(401);
    expect((await logIn(t, buyer.email, buyer.password)).body.code).toBe("INVALID_CREDENTIALS");
    const fresh = await logIn(t, buyer.email, "violet-kangaroo-42");
    expect(fresh.status).toBe(200);
    expect((await me(t, fresh.body.accessToken)).status).toBe(200);
    // A logout after it ends the kept token too.
    expect((await t.post("/api/v1/auth/logout", undefined, buyer)).status).toBe(204);
    expect((await me(t, buyer.token)).status).toBe(401);
  });

  it("refuses a wrong current password with 401 INVALID_CREDENTIALS and changes nothing", async () => {
    const buyer = await t.registerUser("BUYER");
    const res = await t.post(
      "/api/v1/users/me/password",
      { currentPassword: "not-the-password", newPassword: "violet-kangaroo-42" },
      buyer,
    );
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("INVALID_CREDENTIALS");
    expect((await me(t, buyer.token)).status).toBe(200);
    expect((await logIn(t, buyer.email, buyer.password)).status).toBe(200);
  });

  it("refuses a common new password, or one containing the email's name, with 400 naming newPassword", async () => {
    const buyer = await t.registerUser("BUYER");
    const name = buyer.email.split("@")[0] as string;
    for (const newPassword of ["password", "12345678", "Football1", `My-${name.toUpperCase()}-x`]) {
      const res = await t.post("/api/v1/users/me/password", { currentPassword: buyer.password, newPassword }, buyer);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain("newPassword");
    }
  });
});

describe("a token whose user changed or is gone", () => {
  const db = t.container.database.db;

  it("refuses a demoted admin's old token: it can no longer create an ADMIN", async () => {
    const admin = await t.registerUser("ADMIN");
    await db.execute(sql`update users set role = 'BUYER', admin_code = null where id = ${admin.user.id}`);
    const res = await t.post(
      "/api/v1/admin/users",
      {
        email: `new-admin-${crypto.randomUUID()}@test.kicks`,
        password: "violet-kangaroo-42",
        name: "X",
        role: "ADMIN",
      },
      admin,
    );
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
    // Logged in again, the user acts with the role it has now.
    const buyerNow = await logIn(t, admin.email, admin.password);
    expect(buyerNow.body.user.role).toBe("BUYER");
    expect((await t.get("/api/v1/stats/sales", { token: buyerNow.body.accessToken })).status).toBe(403);
  });

  it("answers a deleted seller's token with 401, not a 500 on a foreign key", async () => {
    const seller = await t.registerUser("SELLER");
    await db.execute(sql`delete from balances where user_id = ${seller.user.id}`);
    await db.execute(sql`delete from users where id = ${seller.user.id}`);
    const res = await t.post(
      "/api/v1/products",
      { name: "Ghost", brand: "None", category: "test", price: 10_000, stock: 1 },
      seller,
    );
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
    expect((await me(t, seller.token)).status).toBe(401);
  });
});

describe.skipIf(!hasRedis)("two instances that keep copies of token states", () => {
  it("a logout or a password change on one refuses the tokens on the other at once", async () => {
    const env = { TOKEN_STATE_CACHE_MS: "60000" };
    const [a, b] = [await createTestApp({ env }), await createTestApp({ env })];
    try {
      const buyer = await a.registerUser("BUYER");
      const second = (await logIn(a, buyer.email, buyer.password)).body.accessToken as string;
      // B has the buyer's state in its copy now, for a minute.
      expect((await me(b, buyer.token)).status).toBe(200);
      expect((await me(b, second)).status).toBe(200);

      const change = await a.post(
        "/api/v1/users/me/password",
        { currentPassword: buyer.password, newPassword: "violet-kangaroo-42" },
        buyer,
      );
      expect(change.status).toBe(204);
      expect(await refusedOn(b, second)).toBe(true);
      expect((await me(b, buyer.token)).status).toBe(200);

      expect((await a.post("/api/v1/auth/logout", undefined, buyer)).status).toBe(204);
      expect(await refusedOn(b, buyer.token)).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

/** Whether `app` refuses `token` within 500 ms (the pub/sub message is on its way; the copy would last 60 s). */
async function refusedOn(app: TestApp, token: string): Promise<boolean> {
  for (let i = 0; i < 25; i++) {
    if ((await me(app, token)).status === 401) return true;
    await Bun.sleep(20);
  }
  return false;
}

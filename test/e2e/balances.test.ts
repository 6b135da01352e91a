import { afterAll, describe, expect, it } from "bun:test";
import { createTestApp, openTestDatabase } from "../support/harness";
import { countingDatabase } from "../support/query-counter";

const t = await createTestApp();
const counting = countingDatabase(openTestDatabase());
const counted = await createTestApp({ database: counting.database, env: { TOKEN_STATE_CACHE_MS: "60000" } });
afterAll(async () => {
  await t.close();
  await counted.close();
});

const charge = (token: string, userId: string, amount: unknown, headers: Record<string, string> = {}) =>
  t.post("/api/v1/balances/charge", { userId, amount }, { token, headers });

describe("POST /api/v1/balances/charge", () => {
  it("adds the amount, bumps the version and writes a ledger row", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const first = await charge(token, user.id, 50_000);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ userId: user.id, balance: 50_000, version: 1 });
    const second = await charge(token, user.id, 7);
    expect(second.body).toMatchObject({ balance: 50_007, version: 2 });
    expect(Date.parse(second.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(first.body.updatedAt));
  });

  it.each([
    ["zero", 0],
    ["a negative amount", -100],
    ["a fraction", 10.5],
    ["more than 10,000,000", 10_000_001],
    ["a numeric string", "1000"],
  ])("refuses %s with VALIDATION_FAILED", async (_, amount) => {
    const { user, token } = await t.registerUser("BUYER");
    const res = await charge(token, user.id, amount);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(res.body.errors[0].path).toBe("amount");
    expect((await t.get(`/api/v1/balances/${user.id}`, { token })).body.balance).toBe(0);
  });

  it("accepts exactly 10,000,000 in one charge", async () => {
    const { user, token } = await t.registerUser("BUYER");
    expect((await charge(token, user.id, 10_000_000)).body.balance).toBe(10_000_000);
  });

  it("refuses a charge that would take the balance over 1,000,000,000, leaving it as it was", async () => {
    const { token: adminToken } = await t.registerUser("ADMIN");
    const { user, token } = await t.registerUser("BUYER");
    for (let i = 0; i < 100; i++) await charge(adminToken, user.id, 10_000_000);
    expect((await t.get(`/api/v1/balances/${user.id}`, { token })).body.balance).toBe(1_000_000_000);
    const over = await charge(token, user.id, 1);
    expect(over.status).toBe(400);
    expect(over.body.code).toBe("BALANCE_LIMIT_EXCEEDED");
    const after = await t.get(`/api/v1/balances/${user.id}`, { token });
    expect(after.body).toMatchObject({ balance: 1_000_000_000, version: 100 });
  });

  it("answers USER_NOT_FOUND when an admin charges an unknown user", async () => {
    const { token } = await t.registerUser("ADMIN");
    const res = await charge(token, Bun.randomUUIDv7(), 1000);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("USER_NOT_FOUND");
  });

  it("forbids charging someone else's balance, but lets an admin do it", async () => {
    const { user: victim, token: victimToken } = await t.registerUser("BUYER");
    const { token: otherToken } = await t.registerUser("SELLER");
    const { token: adminToken } = await t.registerUser("ADMIN");
    const forbidden = await charge(otherToken, victim.id, 1000);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe("FORBIDDEN");
    expect((await charge(adminToken, victim.id, 1000)).status).toBe(200);
    expect((await t.get(`/api/v1/balances/${victim.id}`, { token: victimToken })).body.balance).toBe(1000);
  });

  it("requires a token", async () => {
    const res = await t.post("/api/v1/balances/charge", { userId: Bun.randomUUIDv7(), amount: 1 });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
  });
});

describe("GET /api/v1/balances/{userId}", () => {
  it("shows a new user's empty balance", async () => {
    const { user, token } = await t.registerUser("SELLER");
    const res = await t.get(`/api/v1/balances/${user.id}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ userId: user.id, balance: 0, version: 0 });
  });

  it("answers USER_NOT_FOUND to an admin asking for an unknown user, and 400 for a non-UUID id", async () => {
    const { token } = await t.registerUser("ADMIN");
    const unknown = await t.get(`/api/v1/balances/${Bun.randomUUIDv7()}`, { token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("USER_NOT_FOUND");
    const garbage = await t.get("/api/v1/balances/not-a-uuid", { token });
    expect(garbage.status).toBe(400);
    expect(garbage.body.errors[0].path).toBe("param.userId");
  });

  it("reads a balance with one statement, and the token's signature and state are not checked again", async () => {
    const { user, token } = await counted.registerUser("BUYER");
    await counted.post("/api/v1/balances/charge", { userId: user.id, amount: 1234 }, { token });
    const read = () => counted.get(`/api/v1/balances/${user.id}`, { token });
    await read();
    for (let i = 0; i < 3; i++) {
      const { statements, result } = await counting.count(read);
      expect(result.body).toMatchObject({ userId: user.id, balance: 1234, version: 1 });
      expect(statements).toBe(1);
    }
  });

  it("forbids reading another user's balance", async () => {
    const { user } = await t.registerUser("BUYER");
    const { token } = await t.registerUser("BUYER");
    const res = await t.get(`/api/v1/balances/${user.id}`, { token });
    expect(res.status).toBe(403);
  });
});

describe("GET /api/v1/balances/{userId}/transactions", () => {
  it("pages the ledger newest first with signed amounts and running balances", async () => {
    const { user, token } = await t.registerUser("BUYER");
    for (const amount of [100, 200, 300]) await charge(token, user.id, amount);
    const first = await t.get(`/api/v1/balances/${user.id}/transactions?page=1&size=2`, { token });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ page: 1, size: 2, total: 3 });
    expect(first.body.items.map((e: { amount: number }) => e.amount)).toEqual([300, 200]);
    expect(first.body.items[0]).toMatchObject({ type: "CHARGE", balanceAfter: 600, referenceId: null });
    const second = await t.get(`/api/v1/balances/${user.id}/transactions?page=2&size=2`, { token });
    expect(second.body.items.map((e: { balanceAfter: number }) => e.balanceAfter)).toEqual([100]);
  });

  it("defaults to page 1 of 20", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const res = await t.get(`/api/v1/balances/${user.id}/transactions`, { token });
    expect(res.body).toEqual({ items: [], page: 1, size: 20, total: 0 });
  });

  it.each(["page=0", "size=0", "size=101", "page=abc"])("refuses %s with VALIDATION_FAILED", async (query) => {
    const { user, token } = await t.registerUser("BUYER");
    const res = await t.get(`/api/v1/balances/${user.id}/transactions?${query}`, { token });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
  });

  it("forbids another buyer and answers USER_NOT_FOUND to an admin for an unknown user", async () => {
    const { user } = await t.registerUser("BUYER");
    const { token } = await t.registerUser("BUYER");
    expect((await t.get(`/api/v1/balances/${user.id}/transactions`, { token })).status).toBe(403);
    const { token: adminToken } = await t.registerUser("ADMIN");
    expect((await t.get(`/api/v1/balances/${user.id}/transactions`, { token: adminToken })).status).toBe(200);
    const unknown = await t.get(`/api/v1/balances/${Bun.randomUUIDv7()}/transactions`, { token: adminToken });
    expect(unknown.body.code).toBe("USER_NOT_FOUND");
  });
});

describe("ids and paging input", () => {
  it("accepts the caller's own id in upper case", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const upper = user.id.toUpperCase();
    expect((await charge(token, upper, 10)).status).toBe(200);
    const res = await t.get(`/api/v1/balances/${upper}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ userId: user.id, balance: 10 });
  });

  it.each(["page=1e3", "size=0x10", "page=%201", "size=20.0"])(
    "refuses %s: paging takes whole numbers only",
    async (q) => {
      const { user, token } = await t.registerUser("BUYER");
      const res = await t.get(`/api/v1/balances/${user.id}/transactions?${q}`, { token });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].message).toBe("must be a whole number");
    },
  );
});

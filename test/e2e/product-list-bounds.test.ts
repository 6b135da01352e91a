import { afterAll, describe, expect, it } from "bun:test";
import Redis from "ioredis";
import { createTestApp, hasRedis, type TestApp } from "../support/harness";
import { createProductVia } from "../support/products";

// Anonymous lists (issue 17, item 4): one cache entry per query whatever its spelling, a bound on what the
// entries of free-form queries may store, the contract's offset cap, and the cache kept apart from the state
// that must never be evicted when REDIS_CACHE_URL names another Redis database.
const apps: TestApp[] = [];
afterAll(() => Promise.all(apps.map((app) => app.close())));
async function app(env: Record<string, string> = {}) {
  const created = await createTestApp({ env });
  apps.push(created);
  return created;
}

async function listLoads(t: TestApp): Promise<number> {
  const text = (await t.get("/metrics")).body as string;
  const line = text.split("\n").find((l) => l.startsWith('cache_loads_total{cache="product_list"}'));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

const t = await app();
const seller = await t.registerUser("SELLER");
const brand = `Bounds${crypto.randomUUID().slice(0, 8)}`;
for (let i = 0; i < 3; i++) await createProductVia(t, seller.token, { brand, price: 100_000 + i });

describe("the offset cap (page × size ≤ 10,000)", () => {
  it("answers a page beyond it with 400 naming cursor, and serves the deepest page within it", async () => {
    const deep = await t.get("/api/v1/products?page=101&size=100");
    expect(deep.status).toBe(400);
    expect(deep.body.code).toBe("VALIDATION_FAILED");
    expect(deep.body.errors).toEqual([{ path: "query.page", message: expect.stringContaining("cursor") }]);
    expect((await t.get("/api/v1/products?page=100&size=100")).status).toBe(200);
    expect((await t.get("/api/v1/products?page=1000000")).status).toBe(400);
  });

  it("holds on every paged list", async () => {
    const admin = await t.registerUser("ADMIN");
    for (const path of [
      `/api/v1/orders?page=501`,
      `/api/v1/balances/${admin.user.id}/transactions?page=10001&size=1`,
      `/api/v1/coupons/user/${admin.user.id}?page=201&size=50`,
      `/api/v1/admin/events?table=order&page=101&size=100`,
    ]) {
      const res = await t.get(path, { token: admin.token });
      expect({ path, status: res.status, field: res.body.errors?.[0]?.path }).toEqual({
        path,
        status: 400,
        field: "query.page",
      });
    }
  });
});

describe("list cache keys", () => {
  it("stores one entry for one query however it is written", async () => {
    const before = await listLoads(t);
    const spellings = [
      `?brand=${brand}`,
      `?brand=${brand.toUpperCase()}&sort=newest`,
      `?sort=newest&page=1&brand=${brand.toLowerCase()}`,
      `?size=20&brand=${brand}&page=1`,
    ];
    for (const query of spellings) {
      const res = await t.get(`/api/v1/products${query}`);
      expect(res.body.total).toBe(3);
    }
    expect(await listLoads(t)).toBe(before + 1);
  });

  it("does not key a cursor's page on the page parameter it overrides", async () => {
    const first = await t.get(`/api/v1/products?brand=${brand}&size=1`);
    const cursor = encodeURIComponent(first.body.nextCursor);
    const before = await listLoads(t);
    const a = await t.get(`/api/v1/products?brand=${brand}&size=1&cursor=${cursor}`);
    const b = await t.get(`/api/v1/products?brand=${brand}&size=1&cursor=${cursor}&page=7`);
    expect(b.body).toEqual(a.body);
    expect(await listLoads(t)).toBe(before + 1);
  });
});

describe("the budget of free-form list queries", () => {
  it("stops storing them once a window's budget is spent, but keeps storing the canonical pages", async () => {
    const tight = await app({ PRODUCT_LIST_CACHE_BUDGET_BYTES: "1" });
    const loads = () => listLoads(tight);
    const q = `?q=${crypto.randomUUID().slice(0, 8)}`;
    const start = await loads();
    await tight.get(`/api/v1/products${q}`);
    await tight.get(`/api/v1/products${q}`);
    expect(await loads()).toBe(start + 2); // not stored: each read goes to the database
    const canonical = `?sort=price_desc&page=2`;
    await tight.get(`/api/v1/products${canonical}`);
    await tight.get(`/api/v1/products${canonical}`);
    expect(await loads()).toBe(start + 3); // stored once, then a hit
  });
});

describe.skipIf(!hasRedis)("REDIS_CACHE_URL", () => {
  it("keeps cache entries in its own database, and locks, counters and claims where REDIS_URL says", async () => {
    const redisUrl = globalThis.kicksTest.services.redisUrl as string;
    const prefix = `${globalThis.kicksTest.services.redisKeyPrefix}cachedb-${crypto.randomUUID().slice(0, 8)}:`;
    const cacheUrl = new URL(redisUrl);
    cacheUrl.pathname = "/7";
    const separate = await app({ REDIS_CACHE_URL: cacheUrl.toString(), REDIS_KEY_PREFIX: prefix });
    await separate.get(`/api/v1/products?brand=${brand}`);
    const cacheDb = new Redis(cacheUrl.toString());
    const stateDb = new Redis(redisUrl);
    try {
      expect((await cacheDb.keys(`${prefix}*products:list:*`)).length).toBe(1);
      expect((await stateDb.keys(`${prefix}*products:list:*`)).length).toBe(0);
      await separate.post("/api/v1/auth/login", { email: `nobody-${crypto.randomUUID()}@test.kicks`, password: "x" });
      expect((await stateDb.keys(`${prefix}counter:*`)).length).toBeGreaterThan(0);
      expect((await cacheDb.keys(`${prefix}counter:*`)).length).toBe(0);
    } finally {
      for (const db of [cacheDb, stateDb]) {
        const keys = await db.keys(`${prefix}*`);
        if (keys.length > 0) await db.del(...keys);
        db.disconnect();
      }
    }
  });
});

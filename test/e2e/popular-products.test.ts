import { afterAll, describe, expect, it } from "bun:test";
import { seoulDay } from "../../src/domain/sales/seoul-days";
import { checkInvariants } from "../../src/infra/db/invariants";
import { createTestApp, hasRedis, isolatedDatabase, testEnv } from "../support/harness";
import { invariantViolations, payOrder, placeOrder } from "../support/orders";
import { createProductVia, metricValue } from "../support/products";

const TTL = 60;
const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs), sleep: (ms: number) => Bun.sleep(ms) };
const database = await isolatedDatabase();
// Popular entries are shop-wide: this file's cache keys must not meet another file's.
const prefix = `${testEnv().REDIS_KEY_PREFIX ?? ""}popular-${crypto.randomUUID()}:`;
const env = { POPULAR_CACHE_TTL_SECONDS: String(TTL), REDIS_KEY_PREFIX: prefix };
const t = await createTestApp({ database, clock, env });
afterAll(() => t.close());

const seller = await t.registerUser("SELLER");
const buyer = await t.registerUser("BUYER");
type Who = typeof buyer;

async function sell(productId: string, quantity: number, who: Who = buyer) {
  const order = await placeOrder(t, who.token, who.user.id, [{ productId, quantity }]);
  await payOrder(t, who, order.id);
  return order;
}
const popular = (query = "") => t.get(`/api/v1/products/popular${query}`);
const metrics = () => t.container.services.metrics.registry.metrics();
const aggregations = async () => metricValue(await metrics(), "popular_aggregation_seconds_count");
/** Past the TTL of whatever is cached (and past every earlier step of the clock). */
const expireCache = () => {
  clock.offsetMs += (TTL + 1) * 1000;
};

// Four products whose sales tie in every way the ranking must break.
const top = await createProductVia(t, seller.token, { price: 1_000, stock: 100, name: "Top" });
const dearer = await createProductVia(t, seller.token, { price: 2_000, stock: 100, name: "Dearer" });
const [twinA, twinB] = (
  await Promise.all(
    [1, 2].map((n) => createProductVia(t, seller.token, { price: 1_000, stock: 100, name: `Twin ${n}` })),
  )
).sort((a, b) => (a.id < b.id ? -1 : 1)) as unknown as [{ id: string }, { id: string }];
await sell(top.id, 5);
await sell(dearer.id, 3);
await sell(twinB.id, 3);
await sell(twinA.id, 3);
// An unpaid order does not count, however large.
await placeOrder(t, buyer.token, buyer.user.id, [{ productId: twinA.id, quantity: 50 }]);

describe("GET /api/v1/products/popular", () => {
  it("ranks by units sold, then by sales amount, then by product id, with each product's details", async () => {
    const res = await popular();
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Cache")).toBe("MISS");
    expect(res.body.items.map((i: any) => [i.rank, i.product.id, i.soldQuantity, i.salesAmount])).toEqual([
      [1, top.id, 5, 5_000],
      [2, dearer.id, 3, 6_000],
      [3, twinA.id, 3, 3_000],
      [4, twinB.id, 3, 3_000],
    ]);
    expect(res.body.items[0].product).toMatchObject({ name: "Top", soldQuantity: 5, stock: 95, status: "AVAILABLE" });
    const today = seoulDay(clock.now());
    expect(res.body.to).toBe(today);
    expect(Date.parse(`${res.body.to}T00:00:00Z`) - Date.parse(`${res.body.from}T00:00:00Z`)).toBe(2 * 86_400_000);
    expect(Date.parse(res.body.aggregatedAt)).toBeLessThanOrEqual(clock.now().getTime());
  });

  it("serves the cached ranking until the TTL runs out, then aggregates again", async () => {
    const before = await popular();
    expect(before.headers.get("X-Cache")).toBe("HIT");
    await sell(twinB.id, 10);
    const cached = await popular();
    expect(cached.headers.get("X-Cache")).toBe("HIT");
    expect(cached.body).toEqual(before.body);

    expireCache();
    const fresh = await popular();
    expect(fresh.headers.get("X-Cache")).toBe("MISS");
    expect(fresh.body.items[0]).toMatchObject({ rank: 1, soldQuantity: 13, product: { id: twinB.id } });
    expect((await popular()).headers.get("X-Cache")).toBe("HIT");
  });

  it("honours limit and days, each window cached on its own", async () => {
    const two = await popular("?limit=2&days=1");
    expect(two.status).toBe(200);
    expect(two.headers.get("X-Cache")).toBe("MISS");
    expect(two.body.items).toHaveLength(2);
    expect(two.body.from).toBe(two.body.to);
    expect((await popular("?limit=2&days=1")).headers.get("X-Cache")).toBe("HIT");
    expect((await popular("?limit=20&days=30")).body.items).toHaveLength(4);
  });

  it("takes refunded sales out: a partial refund its amount, a full refund (or a paid cancel) the units too", async () => {
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 100, name: "Refunded" });
    const first = await sell(shoe.id, 20);
    const second = await sell(shoe.id, 20);
    expect(
      (await t.post("/api/v1/refunds", { orderId: first.id, amount: 50_000, reason: "scuffed" }, buyer)).status,
    ).toBe(201);
    expect((await t.put(`/api/v1/orders/${second.id}/cancel`, undefined, buyer)).status).toBe(200);
    expireCache();
    const ranked = (await popular("?limit=20")).body.items.find((i: any) => i.product.id === shoe.id);
    expect(ranked).toMatchObject({ soldQuantity: 20, salesAmount: 150_000 });
    expect(await invariantViolations(t, [shoe.id, top.id, dearer.id, twinA.id, twinB.id])).toEqual([]);
    // A database of this file's own, with real flows only: the whole-shop rules hold too.
    expect(await checkInvariants(t.container.database.db)).toEqual([]);
  });

  it("answers a bad window with 400 and the paths", async () => {
    for (const query of ["?days=0", "?days=31", "?days=abc", "?limit=0", "?limit=21", "?days=1.5"]) {
      const res = await popular(query);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors[0].path).toBe(query.includes("days") ? "query.days" : "query.limit");
    }
  });

  it("aggregates a cold window once for 100 parallel requests", async () => {
    expireCache();
    const before = await aggregations();
    const answers = await Promise.all(Array.from({ length: 100 }, () => popular("?days=7&limit=3")));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.body.aggregatedAt)).size).toBe(1);
    expect((await aggregations()) - before).toBe(1);
    expect(metricValue(await metrics(), "cache_coalesced_misses_total", { cache: "popular" })).toBeGreaterThan(0);
  });

  it("serves the expired ranking while one request aggregates it again", async () => {
    await popular("?days=5");
    expireCache();
    const before = await aggregations();
    const answers = await Promise.all(Array.from({ length: 20 }, () => popular("?days=5")));
    expect((await aggregations()) - before).toBe(1);
    const caches = answers.map((a) => a.headers.get("X-Cache"));
    expect(caches.filter((c) => c === "MISS")).toHaveLength(1);
    expect(caches.filter((c) => c === "HIT")).toHaveLength(19);
  });

  it("refreshes a window that is read ahead of its expiry, and reports the cache cycle", async () => {
    await popular("?days=2&limit=2");
    const first = (await popular("?days=2&limit=2")).body.aggregatedAt;
    clock.offsetMs += TTL * 0.85 * 1000;
    expect(await t.container.services.popularProducts.refreshAhead()).toBeGreaterThanOrEqual(1);
    const refreshed = await popular("?days=2&limit=2");
    expect(refreshed.headers.get("X-Cache")).toBe("HIT");
    expect(Date.parse(refreshed.body.aggregatedAt)).toBeGreaterThan(Date.parse(first));
    // Nothing is near its expiry any more: nothing to do.
    expect(await t.container.services.popularProducts.refreshAhead()).toBe(0);

    const text = await metrics();
    for (const [from, to] of [
      ["IDLE", "AGGREGATING"],
      ["AGGREGATING", "CACHE_UPDATED"],
      ["CACHE_UPDATED", "EXPIRED"],
      ["EXPIRED", "AGGREGATING"],
      ["CACHE_UPDATED", "AGGREGATING"],
    ]) {
      expect(metricValue(text, "popular_cache_transitions_total", { from: from!, to: to! })).toBeGreaterThan(0);
    }
    expect(metricValue(text, "popular_cache_windows", { state: "CACHE_UPDATED" })).toBeGreaterThan(0);
    expect(metricValue(text, "popular_aggregation_seconds_count", { trigger: "refresh" })).toBeGreaterThan(0);
  });
});

describe.skipIf(!hasRedis)("popular products with several instances on one Redis", () => {
  it("aggregates a cold window once across two instances", async () => {
    const other = await createTestApp({ database, clock, env });
    try {
      expireCache();
      const count = async (app: typeof t) =>
        metricValue(await app.container.services.metrics.registry.metrics(), "popular_aggregation_seconds_count");
      const before = (await count(t)) + (await count(other));
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) => (i % 2 ? other : t).get("/api/v1/products/popular?days=4")),
      );
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(new Set(answers.map((a) => a.body.aggregatedAt)).size).toBe(1);
      expect((await count(t)) + (await count(other)) - before).toBe(1);
    } finally {
      await other.close();
    }
  });

  it("still answers when Redis cannot be reached", async () => {
    const cut = await createTestApp({ database, clock, env: { ...env, REDIS_URL: "redis://127.0.0.1:1" } });
    try {
      const res = await cut.get("/api/v1/products/popular?limit=20");
      expect(res.status).toBe(200);
      expect(res.headers.get("X-Cache")).toBe("MISS");
      expireCache();
      const healthy = await popular("?limit=20");
      expect(res.body.items.map((i: any) => [i.product.id, i.soldQuantity, i.salesAmount])).toEqual(
        healthy.body.items.map((i: any) => [i.product.id, i.soldQuantity, i.salesAmount]),
      );
    } finally {
      await cut.close();
    }
  });
});

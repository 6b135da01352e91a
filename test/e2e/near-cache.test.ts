import { afterAll, describe, expect, it } from "bun:test";
import type { RedisNearCache } from "../../src/infra/redis/redis-near-cache";
import { createTestApp, hasRedis, type TestApp } from "../support/harness";
import { createProductVia, metricValue } from "../support/products";
import { tcpProxy } from "../support/tcp-proxy";
import { waitFor } from "../support/wait";

// Each instance keeps near copies of product pages, kept exact by invalidations pushed through Redis (issue 20):
// a repeated read asks nobody, a write on one instance reaches the others within 50 ms, and while an instance
// cannot hear the invalidations it keeps no copy and reads through to Redis.
const { services } = globalThis.kicksTest;
const FRESHNESS_BOUND_MS = 50;
/**
 * Every trial's bound: a scheduling stall of a loaded two-core machine (CI beside other work: one trial of ten once
 * took 57 ms) is not the channel's delay, but a write seen only by its entry's expiry (seconds) would still fail.
 */
const STALL_BOUND_MS = 1_000;

describe.skipIf(!hasRedis)("the near cache of product pages across instances", async () => {
  const redisUrl = new URL(services.redisUrl as string);
  // Instance B reaches the cache's Redis through a proxy that can cut or silence its invalidation channel only.
  const proxy = tcpProxy({ hostname: redisUrl.hostname, port: Number(redisUrl.port || 6379) }, "near-cache:");
  const proxied = new URL(redisUrl);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(proxy.port);
  const a = await createTestApp();
  const b = await createTestApp({ env: { REDIS_CACHE_URL: proxied.toString() } });
  afterAll(async () => {
    await a.close();
    await b.close();
    proxy.stop();
  });
  const seller = await a.registerUser("SELLER");
  const nearOf = (app: TestApp) => app.container.services.nearCache as RedisNearCache;
  await waitFor("both channels", () => nearOf(a).state === "live" && nearOf(b).state === "live");

  const nearHits = async (app: TestApp) =>
    metricValue((await app.get("/metrics")).body, "cache_near_hits_total", { cache: "product" });
  const stockOn = async (app: TestApp, id: string) => (await app.get(`/api/v1/products/${id}`)).body.stock as number;

  it("answers a repeated read from memory, without a Redis read", async () => {
    const product = await createProductVia(a, seller.token, { stock: 9 });
    expect(await stockOn(b, product.id)).toBe(9);
    const [hits, gets] = [await nearHits(b), proxy.gets()];
    for (let i = 0; i < 20; i++) expect(await stockOn(b, product.id)).toBe(9);
    expect(await nearHits(b)).toBe(hits + 20);
    expect(proxy.gets()).toBe(gets);
  });

  it(`shows a write made on another instance within ${FRESHNESS_BOUND_MS} ms of its commit (median of ten)`, async () => {
    const lags: number[] = [];
    // The commit's moment: CacheAside tells the writer's near cache first thing after COMMIT returns.
    const writer = nearOf(a);
    const forget = writer.forget.bind(writer);
    let committedAt = 0;
    writer.forget = (key, version) => {
      committedAt ||= performance.now();
      forget(key, version);
    };
    try {
      for (let trial = 0; trial < 10; trial++) {
        const product = await createProductVia(a, seller.token, { stock: 20 });
        expect(await stockOn(b, product.id)).toBe(20);
        expect(await stockOn(b, product.id)).toBe(20); // from B's near copy
        committedAt = 0;
        const write = a.container.services.stock.reserve([{ productId: product.id, quantity: 1 }]);
        // B keeps reading while A writes; the first read that shows the write ends the lag (from its start: the
        // read itself may then have to go to Redis and the database, which is not the channel's delay).
        let seenAt = 0;
        const started = performance.now();
        while (!seenAt && performance.now() - started < 5000) {
          // A read shows the write from the moment it began: that is when B would have answered with it.
          const asked = performance.now();
          if ((await stockOn(b, product.id)) === 19) seenAt = asked;
          // A near hit resolves without I/O: let the sockets (A's commit, B's subscriber) be read between reads.
          else await new Promise((resolve) => setImmediate(resolve));
        }
        await write;
        expect(seenAt).toBeGreaterThan(0);
        lags.push(seenAt - committedAt);
      }
    } finally {
      writer.forget = forget;
    }
    console.log(`[near-cache] write on A visible on B after ${lags.map((ms) => ms.toFixed(1)).join(", ")} ms`);
    const median = [...lags].sort((x, y) => x - y)[Math.floor(lags.length / 2)] as number;
    expect(median).toBeLessThanOrEqual(FRESHNESS_BOUND_MS);
    expect(Math.max(...lags)).toBeLessThanOrEqual(STALL_BOUND_MS);
  });

  it("drops its copies when the channel is cut, reads through to Redis, and keeps copies again once it is back", async () => {
    const product = await createProductVia(a, seller.token, { stock: 30 });
    expect(await stockOn(b, product.id)).toBe(30);
    expect(await stockOn(b, product.id)).toBe(30);
    expect(nearOf(b).size).toBeGreaterThan(0);
    const drops = nearOf(b).drops;

    proxy.cut();
    await waitFor("B's channel down", () => nearOf(b).state === "down");
    expect(nearOf(b).size).toBe(0);
    expect(nearOf(b).drops).toBe(drops + 1);
    // A write whose invalidation B cannot hear: B still shows it on the very next read, from Redis.
    await a.container.services.stock.reserve([{ productId: product.id, quantity: 5 }]);
    const [hits, gets] = [await nearHits(b), proxy.gets()];
    for (let i = 0; i < 3; i++) expect(await stockOn(b, product.id)).toBe(25);
    expect(await nearHits(b)).toBe(hits);
    expect(proxy.gets()).toBeGreaterThanOrEqual(gets + 3);
    expect(nearOf(b).size).toBe(0);
    expect(metricValue((await b.get("/metrics")).body, "near_cache_channel_up")).toBe(0);

    proxy.restore();
    await waitFor("B's channel back", () => nearOf(b).state === "live");
    expect(await stockOn(b, product.id)).toBe(25);
    const back = await nearHits(b);
    expect(await stockOn(b, product.id)).toBe(25);
    expect(await nearHits(b)).toBe(back + 1);
    // And it hears the invalidations again.
    await a.container.services.stock.reserve([{ productId: product.id, quantity: 1 }]);
    await waitFor("the write on B", async () => (await stockOn(b, product.id)) === 24, 1000);
  });

  it("treats a channel that stops answering as lost", async () => {
    const product = await createProductVia(a, seller.token, { stock: 40 });
    expect(await stockOn(b, product.id)).toBe(40);
    expect(await stockOn(b, product.id)).toBe(40);
    proxy.stall();
    // Nothing closes: only the heartbeat's unanswered pings tell.
    await waitFor("B's channel declared lost", () => nearOf(b).state === "down", 10_000);
    await a.container.services.stock.reserve([{ productId: product.id, quantity: 2 }]);
    expect(await stockOn(b, product.id)).toBe(38);
    proxy.restore();
    await waitFor("B's channel back", () => nearOf(b).state === "live", 10_000);
    expect(await stockOn(b, product.id)).toBe(38);
  });
});

describe("embedded mode", () => {
  it("keeps its in-process cache and no near cache", async () => {
    const alone = await createTestApp({ env: { REDIS_URL: "" } });
    try {
      expect(alone.container.services.nearCache).toBeUndefined();
      const seller = await alone.registerUser("SELLER");
      const product = await createProductVia(alone, seller.token, { stock: 3 });
      expect((await alone.get(`/api/v1/products/${product.id}`)).body.stock).toBe(3);
      expect((await alone.get(`/api/v1/products/${product.id}`)).body.stock).toBe(3);
    } finally {
      await alone.close();
    }
  });
});

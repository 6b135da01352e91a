import { afterAll, describe, expect, it } from "bun:test";
import Redis from "ioredis";
import type { Cache, LockManager, VersionedCache } from "../../src/domain/shared/ports";
import { MemoryCache } from "../../src/infra/memory/memory-cache";
import { MemoryLocks } from "../../src/infra/memory/memory-locks";
import { RedisCache } from "../../src/infra/redis/redis-cache";
import { createRedis } from "../../src/infra/redis/redis-client";
import { RedisLocks } from "../../src/infra/redis/redis-locks";
import { hasRedis } from "../support/harness";

const { services } = globalThis.kicksTest;

interface SharedState {
  cache: Cache & VersionedCache;
  locks: LockManager;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const unique = (what: string) => `${what}-${crypto.randomUUID()}`;

/** One contract for every adapter of the shared-state ports: they must be interchangeable. */
function sharedStateContract(adapter: string, open: () => SharedState) {
  describe(`${adapter} cache`, () => {
    it("returns what was set and nothing for a key never set", async () => {
      const { cache } = open();
      const key = unique("product");
      const body = JSON.stringify({ id: key, name: "Air Max 1", price: 139000, sizes: [260, 270] });
      await cache.set(key, body, 60);
      expect(await cache.get(key)).toBe(body);
      expect(await cache.get(unique("missing"))).toBeUndefined();
    });

    it("replaces the value of a key set twice", async () => {
      const { cache } = open();
      const key = unique("popular");
      await cache.set(key, "first", 60);
      await cache.set(key, "second", 60);
      expect(await cache.get(key)).toBe("second");
    });

    it("keeps text exactly as stored, empty strings and non-ASCII included", async () => {
      const { cache } = open();
      const entries: [string, string][] = [
        [unique("empty"), ""],
        [unique("korean"), "한정판 드롭"],
        [unique("pipe"), "3|not a version"],
        [unique("json"), '{"page":{"items":[{"stock":3}],"total":1},"nextCursor":null}'],
      ];
      for (const [key, value] of entries) await cache.set(key, value, 60);
      for (const [key, value] of entries) expect(await cache.get(key)).toBe(value);
    });

    it("deletes several keys at once and tolerates keys that are not there", async () => {
      const { cache } = open();
      const [a, b, kept] = [unique("a"), unique("b"), unique("kept")];
      await cache.set(a, "1", 60);
      await cache.set(b, "2", 60);
      await cache.set(kept, "3", 60);
      await cache.delete(a, b, unique("never-set"));
      expect(await cache.get(a)).toBeUndefined();
      expect(await cache.get(b)).toBeUndefined();
      expect(await cache.get(kept)).toBe("3");
      await cache.delete();
    });

    it("forgets a value once its TTL has passed", async () => {
      const { cache } = open();
      const [short, long] = [unique("short"), unique("long")];
      await cache.set(short, "gone soon", 1);
      await cache.set(long, "still here", 60);
      await sleep(1100);
      expect(await cache.get(short)).toBeUndefined();
      expect(await cache.get(long)).toBe("still here");
    });

    it("serves a versioned body and refuses to replace it with an older version", async () => {
      const { cache } = open();
      const key = unique("versioned");
      expect(await cache.getVersioned(key)).toBeUndefined();
      expect(await cache.putIfNewer(key, 3, '{"version":3}', 60)).toBe(true);
      expect(await cache.putIfNewer(key, 2, '{"version":2}', 60)).toBe(false);
      expect(await cache.getVersioned(key)).toEqual({ body: '{"version":3}', version: 3 });
      expect(await cache.putIfNewer(key, 4, '{"version":4}', 60)).toBe(true);
      expect(await cache.getVersioned(key)).toEqual({ body: '{"version":4}', version: 4 });
    });

    it("leaves a tombstone on invalidation that only a load of at least its version may replace", async () => {
      const { cache } = open();
      const key = unique("tombstone");
      await cache.putIfNewer(key, 1, '{"stock":5}', 60);
      await cache.invalidate(key, 2, 60);
      expect(await cache.getVersioned(key)).toEqual({ floor: 2 });
      // A reader that loaded version 1 just before the write committed cannot put it back.
      expect(await cache.putIfNewer(key, 1, '{"stock":5}', 60)).toBe(false);
      expect(await cache.getVersioned(key)).toEqual({ floor: 2 });
      expect(await cache.putIfNewer(key, 2, '{"stock":4}', 60)).toBe(true);
      expect(await cache.getVersioned(key)).toEqual({ body: '{"stock":4}', version: 2 });
    });

    it("ignores an invalidation older than what the entry holds", async () => {
      const { cache } = open();
      const key = unique("late-invalidation");
      await cache.putIfNewer(key, 5, '{"v":5}', 60);
      await cache.invalidate(key, 4, 60);
      expect(await cache.getVersioned(key)).toEqual({ body: '{"v":5}', version: 5 });
    });

    it("expires versioned entries and tombstones with their TTL", async () => {
      const { cache } = open();
      const [body, tombstone] = [unique("ttl-body"), unique("ttl-tombstone")];
      await cache.putIfNewer(body, 1, "{}", 1);
      await cache.invalidate(tombstone, 7, 1);
      await sleep(1100);
      expect(await cache.getVersioned(body)).toBeUndefined();
      expect(await cache.getVersioned(tombstone)).toBeUndefined();
    });
  });

  describe(`${adapter} locks`, () => {
    it("refuses a lock that someone else holds", async () => {
      const { locks } = open();
      const name = unique("order");
      const held = await locks.tryAcquire(name, 10_000);
      expect(held).toBeDefined();
      expect(await locks.tryAcquire(name, 10_000)).toBeUndefined();
      await held?.release();
    });

    it("lets exactly one of many simultaneous callers win", async () => {
      const { locks } = open();
      const name = unique("drop");
      const attempts = await Promise.all(Array.from({ length: 20 }, () => locks.tryAcquire(name, 10_000)));
      const winners = attempts.filter((lock) => lock !== undefined);
      expect(winners).toHaveLength(1);
      await winners[0]?.release();
    });

    it("keeps locks of different names independent", async () => {
      const { locks } = open();
      const first = await locks.tryAcquire(unique("payment"), 10_000);
      const second = await locks.tryAcquire(unique("payment"), 10_000);
      expect(first).toBeDefined();
      expect(second).toBeDefined();
      await first?.release();
      await second?.release();
    });

    it("frees the lock on release", async () => {
      const { locks } = open();
      const name = unique("refund");
      const held = await locks.tryAcquire(name, 10_000);
      await held?.release();
      const next = await locks.tryAcquire(name, 10_000);
      expect(next).toBeDefined();
      await next?.release();
    });

    it("passes an expired lock to the next caller", async () => {
      const { locks } = open();
      const name = unique("expiring");
      expect(await locks.tryAcquire(name, 200)).toBeDefined();
      await sleep(300);
      const next = await locks.tryAcquire(name, 10_000);
      expect(next).toBeDefined();
      await next?.release();
    });

    it("does not release another holder's lock when the first holder releases after its lock expired", async () => {
      const { locks } = open();
      const name = unique("sweeper");
      const stale = await locks.tryAcquire(name, 200);
      await sleep(300);
      const current = await locks.tryAcquire(name, 10_000);
      expect(current).toBeDefined();
      await stale?.release();
      expect(await locks.tryAcquire(name, 10_000)).toBeUndefined();
      await current?.release();
      expect(await locks.tryAcquire(name, 10_000)).toBeDefined();
    });

    it("ignores a second release by the same holder once the lock has passed on", async () => {
      const { locks } = open();
      const name = unique("twice");
      const first = await locks.tryAcquire(name, 10_000);
      await first?.release();
      const second = await locks.tryAcquire(name, 10_000);
      await first?.release();
      expect(await locks.tryAcquire(name, 10_000)).toBeUndefined();
      await second?.release();
    });
  });
}

sharedStateContract("in-process", () => ({ cache: new MemoryCache(), locks: new MemoryLocks() }));

// A prefix of this file's own under the run's prefix: the run's teardown still deletes its keys.
const prefix = `${services.redisKeyPrefix}cache-and-locks-${crypto.randomUUID().slice(0, 8)}:`;
const clients: Redis[] = [];
afterAll(async () => {
  await Promise.all(clients.map((client) => client.quit()));
});

/** A client like the app's (every key under `keyPrefix`), closed after the file. */
function connect(keyPrefix = prefix): Redis {
  const client = createRedis(services.redisUrl as string, keyPrefix);
  clients.push(client);
  return client;
}

/** A client without any prefix, to see the keys as they are really stored. */
function connectRaw(): Redis {
  const client = new Redis(services.redisUrl as string);
  clients.push(client);
  return client;
}

describe.skipIf(!hasRedis)("Redis adapters", () => {
  // Opened on first use: a skipped block must not connect.
  let shared: Redis | undefined;
  sharedStateContract("Redis", () => {
    shared ??= connect();
    return { cache: new RedisCache(shared), locks: new RedisLocks(shared) };
  });

  it("shares a lock between two instances on the same Redis", async () => {
    const [instanceA, instanceB] = [new RedisLocks(connect()), new RedisLocks(connect())];
    const name = unique("cross-instance");
    const held = await instanceA.tryAcquire(name, 10_000);
    expect(held).toBeDefined();
    expect(await instanceB.tryAcquire(name, 10_000)).toBeUndefined();
    await held?.release();
    const taken = await instanceB.tryAcquire(name, 10_000);
    expect(taken).toBeDefined();
    await taken?.release();
  });

  it("shares cached values between two instances on the same Redis", async () => {
    const [instanceA, instanceB] = [new RedisCache(connect()), new RedisCache(connect())];
    const key = unique("shared");
    await instanceA.set(key, '{"stock":3}', 60);
    expect(await instanceB.get(key)).toBe('{"stock":3}');
    await instanceB.delete(key);
    expect(await instanceA.get(key)).toBeUndefined();
  });

  it("writes cache and lock keys under REDIS_KEY_PREFIX only", async () => {
    const client = connect();
    const key = unique("prefixed-product");
    const name = unique("prefixed-lock");
    await new RedisCache(client).set(key, key, 60);
    await new RedisCache(client).putIfNewer(`${key}-versioned`, 1, key, 60);
    const lock = await new RedisLocks(client).tryAcquire(name, 10_000);

    const unprefixed = connectRaw();
    const written = [...(await unprefixed.keys(`*${key}*`)), ...(await unprefixed.keys(`*${name}*`))];
    // Scripts (EVALSHA through defineCommand) get the prefix on their KEYS as well.
    expect(written).toHaveLength(3);
    for (const writtenKey of written) expect(writtenKey.startsWith(prefix)).toBe(true);

    await lock?.release();
    expect(await unprefixed.keys(`*${name}*`)).toEqual([]);
  });

  it("keeps deployments with different prefixes apart", async () => {
    const other = connect(`${services.redisKeyPrefix}other-deployment-${crypto.randomUUID().slice(0, 8)}:`);
    const key = unique("isolated");
    const name = unique("isolated-lock");
    await new RedisCache(connect()).set(key, "ours", 60);
    const ours = await new RedisLocks(connect()).tryAcquire(name, 10_000);
    expect(await new RedisCache(other).get(key)).toBeUndefined();
    const theirs = await new RedisLocks(other).tryAcquire(name, 10_000);
    expect(theirs).toBeDefined();
    await ours?.release();
    await theirs?.release();
  });
});

describe("the in-process cache", () => {
  it("stays bounded however many distinct keys clients make it hold", async () => {
    const cache = new MemoryCache();
    for (let i = 0; i < 60_000; i++) await cache.set(`list:${i}`, "x", 60);
    expect(cache.size).toBeLessThanOrEqual(50_000);
    // The most recent entries are the ones kept.
    expect(await cache.get("list:59999")).toBe("x");
    expect(await cache.get("list:0")).toBeUndefined();
  });

  it("bounds the bytes it holds as well as the entries", async () => {
    const cache = new MemoryCache();
    const megabyte = "x".repeat(1024 * 1024);
    for (let i = 0; i < 100; i++) await cache.set(`page:${i}`, megabyte, 60);
    expect(cache.size).toBeLessThanOrEqual(64);
    expect(await cache.get("page:99")).toBe(megabyte);
  });
});

describe.skipIf(!hasRedis)("the Redis cache while Redis is unreachable", () => {
  it("refuses at once instead of queueing behind reconnects", async () => {
    const client = createRedis("redis://127.0.0.1:1", prefix);
    clients.push(client);
    const cache = new RedisCache(client);
    // Its first connection attempt has failed (however long a loaded machine takes to tell).
    while (client.status === "connecting" || client.status === "wait") await sleep(10);
    // Not ioredis' "max retries per request" after its reconnect attempts: refused before queueing.
    await expect(cache.get(unique("down"))).rejects.toThrow("Redis connection is");
    await expect(cache.putIfNewer(unique("down"), 1, "{}", 60)).rejects.toThrow("Redis connection is");
  });
});

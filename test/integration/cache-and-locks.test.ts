import { afterAll, describe, expect, it } from "bun:test";
import Redis from "ioredis";
import type { Cache, LockManager } from "../../src/domain/shared/ports";
import { MemoryCache } from "../../src/infra/memory/memory-cache";
import { MemoryLocks } from "../../src/infra/memory/memory-locks";
import { RedisCache } from "../../src/infra/redis/redis-cache";
import { createRedis } from "../../src/infra/redis/redis-client";
import { RedisLocks } from "../../src/infra/redis/redis-locks";
import { hasRedis } from "../support/harness";

const { services } = globalThis.kicksTest;

interface SharedState {
  cache: Cache;
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
      await cache.set(key, { id: key, name: "Air Max 1", price: 139000, sizes: [260, 270] }, 60);
      expect(await cache.get(key)).toEqual({ id: key, name: "Air Max 1", price: 139000, sizes: [260, 270] });
      expect(await cache.get(unique("missing"))).toBeUndefined();
    });

    it("replaces the value of a key set twice", async () => {
      const { cache } = open();
      const key = unique("popular");
      await cache.set(key, ["first"], 60);
      await cache.set(key, ["second"], 60);
      expect(await cache.get<string[]>(key)).toEqual(["second"]);
    });

    it("keeps primitives, nulls and nested values intact", async () => {
      const { cache } = open();
      const entries: [string, unknown][] = [
        [unique("number"), 0],
        [unique("string"), "한정판"],
        [unique("boolean"), false],
        [unique("null"), null],
        [unique("nested"), { page: { items: [{ stock: 3 }], total: 1 }, nextCursor: null }],
      ];
      for (const [key, value] of entries) await cache.set(key, value, 60);
      for (const [key, value] of entries) expect(await cache.get(key)).toEqual(value);
    });

    it("deletes several keys at once and tolerates keys that are not there", async () => {
      const { cache } = open();
      const [a, b, kept] = [unique("a"), unique("b"), unique("kept")];
      await cache.set(a, 1, 60);
      await cache.set(b, 2, 60);
      await cache.set(kept, 3, 60);
      await cache.delete(a, b, unique("never-set"));
      expect(await cache.get(a)).toBeUndefined();
      expect(await cache.get(b)).toBeUndefined();
      expect(await cache.get<number>(kept)).toBe(3);
      await cache.delete();
    });

    it("hands out copies, so changing a value outside the cache does not change what it holds", async () => {
      const { cache } = open();
      const key = unique("copy");
      const stored = { stock: 5, sizes: [260] };
      await cache.set(key, stored, 60);
      stored.stock = 0;
      stored.sizes.push(999);
      const first = await cache.get<{ stock: number; sizes: number[] }>(key);
      expect(first).toEqual({ stock: 5, sizes: [260] });
      (first as { stock: number }).stock = -1;
      expect(await cache.get(key)).toEqual({ stock: 5, sizes: [260] });
    });

    it("returns dates as ISO strings, as JSON does", async () => {
      const { cache } = open();
      const key = unique("date");
      await cache.set(key, { at: new Date("2026-11-25T10:00:00.000Z") }, 60);
      expect(await cache.get(key)).toEqual({ at: "2026-11-25T10:00:00.000Z" });
    });

    it("forgets a value once its TTL has passed", async () => {
      const { cache } = open();
      const [short, long] = [unique("short"), unique("long")];
      await cache.set(short, "gone soon", 1);
      await cache.set(long, "still here", 60);
      await sleep(1100);
      expect(await cache.get(short)).toBeUndefined();
      expect(await cache.get<string>(long)).toBe("still here");
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
    await instanceA.set(key, { stock: 3 }, 60);
    expect(await instanceB.get(key)).toEqual({ stock: 3 });
    await instanceB.delete(key);
    expect(await instanceA.get(key)).toBeUndefined();
  });

  it("writes cache and lock keys under REDIS_KEY_PREFIX only", async () => {
    const client = connect();
    const key = unique("prefixed-product");
    const name = unique("prefixed-lock");
    await new RedisCache(client).set(key, { id: key }, 60);
    const lock = await new RedisLocks(client).tryAcquire(name, 10_000);

    const unprefixed = connectRaw();
    const written = [...(await unprefixed.keys(`*${key}*`)), ...(await unprefixed.keys(`*${name}*`))];
    expect(written).toHaveLength(2);
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

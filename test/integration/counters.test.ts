import { afterAll, describe, expect, it } from "bun:test";
import Redis from "ioredis";
import type { Counters } from "../../src/domain/shared/ports";
import { MemoryCounters } from "../../src/infra/memory/memory-counters";
import { createRedis } from "../../src/infra/redis/redis-client";
import { RedisCounters } from "../../src/infra/redis/redis-counters";
import { hasRedis } from "../support/harness";

const { services } = globalThis.kicksTest;

function behavesLikeFixedWindowCounters(makeCounters: () => Counters) {
  const counters = makeCounters();
  const key = () => `test-${crypto.randomUUID()}`;

  it("counts hits within a window and reports when it ends", async () => {
    const k = key();
    expect(await counters.get(k)).toEqual({ count: 0, resetsInSeconds: 0 });
    expect((await counters.increment(k, 60)).count).toBe(1);
    const second = await counters.increment(k, 60);
    expect(second.count).toBe(2);
    expect(second.resetsInSeconds).toBeGreaterThan(0);
    expect(second.resetsInSeconds).toBeLessThanOrEqual(60);
    expect((await counters.get(k)).count).toBe(2);
  });

  it("takes a hit back within its window, never below zero, and never starts a window by it", async () => {
    const k = key();
    await counters.increment(k, 60);
    await counters.increment(k, 60);
    await counters.decrement(k);
    const after = await counters.get(k);
    expect(after.count).toBe(1);
    expect(after.resetsInSeconds).toBeGreaterThan(0);
    await counters.decrement(k);
    await counters.decrement(k);
    expect((await counters.get(k)).count).toBe(0);
    const untouched = key();
    await counters.decrement(untouched);
    expect(await counters.get(untouched)).toEqual({ count: 0, resetsInSeconds: 0 });
  });

  it("starts again from zero once the window has passed", async () => {
    const k = key();
    await counters.increment(k, 1);
    await counters.increment(k, 1);
    await Bun.sleep(1100);
    expect((await counters.get(k)).count).toBe(0);
    expect((await counters.increment(k, 1)).count).toBe(1);
  });

  it("keeps the window of the first hit: later hits do not extend it", async () => {
    const k = key();
    await counters.increment(k, 1);
    await Bun.sleep(600);
    await counters.increment(k, 60);
    await Bun.sleep(500);
    expect((await counters.get(k)).count).toBe(0);
  });

  it("resets on demand and keeps keys apart", async () => {
    const [a, b] = [key(), key()];
    await counters.increment(a, 60);
    await counters.increment(b, 60);
    await counters.reset(a);
    expect((await counters.get(a)).count).toBe(0);
    expect((await counters.get(b)).count).toBe(1);
  });

  it("counts every one of 100 concurrent hits", async () => {
    const k = key();
    const results = await Promise.all(Array.from({ length: 100 }, () => counters.increment(k, 60)));
    expect(results.map((r) => r.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });
}

describe("MemoryCounters", () => {
  behavesLikeFixedWindowCounters(() => new MemoryCounters());

  it("never holds more than 100,000 windows, forgetting the oldest first", async () => {
    const counters = new MemoryCounters();
    for (let i = 0; i < 100_050; i++) await counters.increment(`flood-${i}`, 60);
    expect(counters.size).toBe(100_000);
    expect((await counters.get("flood-0")).count).toBe(0);
    expect((await counters.get("flood-100049")).count).toBe(1);
  });

  it("sweeps out ended windows once many keys pile up", async () => {
    const counters = new MemoryCounters();
    for (let i = 0; i < 10_000; i++) await counters.increment(`burst-${i}`, 1);
    expect(counters.size).toBe(10_000);
    await Bun.sleep(1100);
    await counters.increment("after-the-burst", 60);
    expect(counters.size).toBe(1);
  });
});

// Top level, not inside the skipped describe (where a hook shows up as an extra unnamed skip).
const prefix = `${services.redisKeyPrefix}counters-${crypto.randomUUID()}:`;
const redis = hasRedis ? createRedis(services.redisUrl as string, prefix) : undefined;
afterAll(async () => {
  await redis?.quit();
});

describe.skipIf(!hasRedis)("RedisCounters", () => {
  behavesLikeFixedWindowCounters(() => new RedisCounters(redis as Redis));

  it("gives a window that lost its expiry a new one instead of counting forever", async () => {
    const counters = new RedisCounters(redis as Redis);
    const raw = new Redis(services.redisUrl as string);
    try {
      await raw.set(`${prefix}counter:persisted`, "3");
      const hit = await counters.increment("persisted", 60);
      expect(hit.count).toBe(4);
      expect(hit.resetsInSeconds).toBeGreaterThan(0);
      expect(await raw.pttl(`${prefix}counter:persisted`)).toBeGreaterThan(0);
    } finally {
      await raw.quit();
    }
  });

  it("stores its keys under the configured prefix", async () => {
    const counters = new RedisCounters(redis as Redis);
    await counters.increment("prefixed", 60);
    const raw = new Redis(services.redisUrl as string);
    try {
      expect(await raw.exists(`${prefix}counter:prefixed`)).toBe(1);
      expect(await raw.exists("counter:prefixed")).toBe(0);
    } finally {
      await raw.quit();
    }
  });
});

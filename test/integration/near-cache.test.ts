import { afterAll, describe, expect, it } from "bun:test";
import { CacheAside, type CacheObserver } from "../../src/domain/shared/cache-aside";
import { createLogger } from "../../src/infra/logger";
import { RedisCache } from "../../src/infra/redis/redis-cache";
import { createRedis } from "../../src/infra/redis/redis-client";
import { RedisNearCache } from "../../src/infra/redis/redis-near-cache";
import { systemClock } from "../../src/infra/system-clock";
import { hasRedis } from "../support/harness";
import { waitFor } from "../support/wait";

const { services } = globalThis.kicksTest;
const unique = (what: string) => `${what}:${crypto.randomUUID()}`;
const quiet: CacheObserver = { hit() {}, miss() {}, coalesced() {}, load() {}, unavailable() {} };

describe.skipIf(!hasRedis)("RedisNearCache", async () => {
  const redis = createRedis(services.redisUrl as string, services.redisKeyPrefix as string);
  const channel = `${services.redisKeyPrefix}near-cache-test:${crypto.randomUUID()}`;
  const logger = createLogger("silent");
  const here = new RedisNearCache(redis, channel, logger);
  const there = new RedisNearCache(redis, channel, logger);
  afterAll(async () => {
    await here.close();
    await there.close();
    await redis.quit();
  });
  await waitFor("both channels", () => here.state === "live" && there.state === "live");

  it("keeps nothing read before an invalidation of its key that arrived meanwhile", async () => {
    const key = unique("product");
    const ticket = here.ticket(key);
    // Another instance commits version 2 while this one's read of version 1 is on its way back.
    await there.announce(key, 2);
    await waitFor("the message", () => {
      here.keep(key, 1, "v1", ticket, 60);
      return here.get(key) === undefined ? "not kept" : false;
    });
    expect(here.get(key)).toBeUndefined();
    here.keep(key, 2, "v2", here.ticket(key), 60);
    expect(here.get(key)).toBe("v2");
  });

  it("lets a late message for an older version leave a newer copy in place", async () => {
    const [key, marker] = [unique("product"), unique("product")];
    here.keep(key, 5, "v5", here.ticket(key), 60);
    here.keep(marker, 1, "m1", here.ticket(marker), 60);
    // Messages arrive in the order they were published: once the marker's has, the older one has too.
    await there.announce(key, 4);
    await there.announce(marker, 2);
    await waitFor("the marker's message", () => here.get(marker) === undefined);
    expect(here.get(key)).toBe("v5");
    await there.announce(key, 6);
    await waitFor("the newer message", () => here.get(key) === undefined);
  });

  it("never keeps or serves a copy while its channel is down", async () => {
    const key = unique("product");
    const cut = new RedisNearCache(redis, channel, logger);
    await waitFor("channel", () => cut.state === "live");
    const ticket = cut.ticket(key);
    cut.keep(key, 1, "v1", ticket, 60);
    expect(cut.get(key)).toBe("v1");
    await cut.close();
    expect(cut.state).toBe("down");
    expect(cut.get(key)).toBeUndefined();
    expect(cut.ticket(key)).toBeUndefined();
    cut.keep(key, 1, "v1", ticket, 60);
    expect(cut.size).toBe(0);
  });

  it("behind CacheAside: a read that raced a change elsewhere keeps no old copy; one that came after shows it", async () => {
    const key = unique("product");
    const reads = new CacheAside(new RedisCache(redis), quiet, systemClock, undefined, here);
    const writes = new CacheAside(new RedisCache(redis), quiet, systemClock, undefined, there);
    let row = { version: 1, body: "v1" };
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const load = async () => {
      const snapshot = row;
      await gate;
      return snapshot;
    };
    const early = reads.readVersioned("product", key, 60, load);
    await Bun.sleep(5);
    // Version 2 commits on the other instance (tombstone, then the message) while the early load holds version 1.
    row = { version: 2, body: "v2" };
    await writes.invalidate("product", key, 2, 60);
    await Bun.sleep(5);
    // A reader arriving after the message meets the tombstone, joins the running load, then loads anew.
    const late = reads.readVersioned("product", key, 60, load);
    await Bun.sleep(5);
    release();
    expect(await early).toBe("v1");
    expect(await late).toBe("v2");
    expect(here.get(key)).toBe("v2");
  });
});

import { describe, expect, it } from "bun:test";
import { CacheAside, type CacheObserver } from "../../src/domain/shared/cache-aside";
import { MemoryCache } from "../../src/infra/memory/memory-cache";
import { systemClock } from "../../src/infra/system-clock";

function counting() {
  const counts = { hit: 0, miss: 0, coalesced: 0, load: 0, unavailable: 0 };
  const observer: CacheObserver = {
    hit: () => void counts.hit++,
    miss: () => void counts.miss++,
    coalesced: () => void counts.coalesced++,
    load: () => void counts.load++,
    unavailable: () => void counts.unavailable++,
  };
  return { counts, observer };
}

/** A load that waits until the test lets it finish, returning whatever the "database" holds by then. */
function gatedLoad(read: () => { version: number; body: string }) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    open,
    load: async () => {
      const snapshot = read();
      await gate;
      return snapshot;
    },
  };
}

describe("cache-aside reads", () => {
  it("loads once for many concurrent misses of one key", async () => {
    const { counts, observer } = counting();
    const reads = new CacheAside(new MemoryCache(), observer, systemClock);
    const row = { version: 1, body: '{"stock":5}' };
    const { open, load } = gatedLoad(() => row);
    const readers = Array.from({ length: 100 }, () => reads.readVersioned("product", "p:1", 60, load));
    await Bun.sleep(5);
    open();
    expect(new Set(await Promise.all(readers))).toEqual(new Set(['{"stock":5}']));
    expect(counts).toMatchObject({ load: 1, miss: 100, coalesced: 99 });
    expect(await reads.readVersioned("product", "p:1", 60, load)).toBe('{"stock":5}');
    expect(counts.hit).toBe(1);
  });

  it("does not store a copy loaded before a write that was invalidated meanwhile", async () => {
    const cache = new MemoryCache();
    const reads = new CacheAside(cache, counting().observer, systemClock);
    let row = { version: 1, body: '{"stock":5}' };
    const { open, load } = gatedLoad(() => row);
    // A reader reads the row at version 1 …
    const early = reads.readVersioned("product", "p:2", 60, load);
    await Bun.sleep(1);
    // … then an order commits version 2 and invalidates, before that reader stores its copy.
    row = { version: 2, body: '{"stock":4}' };
    await reads.invalidate("product", "p:2", 2, 60);
    open();
    await early;
    expect(await cache.getVersioned("p:2")).toEqual({ floor: 2 });
    expect(await reads.readVersioned("product", "p:2", 60, async () => row)).toBe('{"stock":4}');
  });

  it("does not hand a reader who arrives after an invalidation the result of a load begun before it", async () => {
    const reads = new CacheAside(new MemoryCache(), counting().observer, systemClock);
    let row = { version: 1, body: '{"stock":5}' };
    const { open, load } = gatedLoad(() => row);
    const early = reads.readVersioned("product", "p:3", 60, load);
    await Bun.sleep(1);
    row = { version: 2, body: '{"stock":4}' };
    await reads.invalidate("product", "p:3", 2, 60);
    const late = reads.readVersioned("product", "p:3", 60, async () => row);
    open();
    expect(await early).toBe('{"stock":5}');
    expect(await late).toBe('{"stock":4}');
  });

  it("reads from the source when the cache fails, reporting it", async () => {
    const { counts, observer } = counting();
    const broken = new MemoryCache();
    broken.getVersioned = () => Promise.reject(new Error("down"));
    broken.putIfNewer = () => Promise.reject(new Error("down"));
    const reads = new CacheAside(broken, observer, systemClock);
    expect(await reads.readVersioned("product", "p:4", 60, async () => ({ version: 1, body: "{}" }))).toBe("{}");
    expect(counts.unavailable).toBe(2);
  });

  it("shares a failed load's error with its waiters and caches nothing", async () => {
    const cache = new MemoryCache();
    const reads = new CacheAside(cache, counting().observer, systemClock);
    const failing = async () => {
      await Bun.sleep(2);
      throw new Error("no such product");
    };
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, () => reads.readVersioned("product", "p:5", 60, failing)),
    );
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(await cache.getVersioned("p:5")).toBeUndefined();
  });

  it("serves a list page until its clock passes the TTL, then loads it again", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const clock = { now: () => new Date(now), sleep: async () => {} };
    const { counts, observer } = counting();
    const reads = new CacheAside(new MemoryCache(), observer, clock);
    let body = "page-1";
    const load = async () => body;
    expect(await reads.read("list", "l:1", 60, load)).toBe("page-1");
    body = "page-2";
    now += 59_000;
    expect(await reads.read("list", "l:1", 60, load)).toBe("page-1");
    now += 2_000;
    expect(await reads.read("list", "l:1", 60, load)).toBe("page-2");
    expect(counts.load).toBe(2);
  });
});

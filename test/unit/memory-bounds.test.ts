import { describe, expect, it } from "bun:test";
import { MemoryCache } from "../../src/infra/memory/memory-cache";
import { LIST_NEAR_CACHE_MAX_BYTES, MemoryNearCache } from "../../src/infra/memory/memory-near-cache";
import { stringBytes } from "../../src/infra/memory/string-bytes";

// The in-process caches are bounded in bytes of memory. A string of Latin-1 characters takes one byte per
// character in JavaScriptCore, any other string two: a Korean product name makes the whole page twice as big
// as its length says, and the bound must count that.
const MiB = 1024 * 1024;

describe("string bytes", () => {
  it("counts one byte per character for ASCII and two for anything else", () => {
    expect(stringBytes("abc")).toBe(3);
    expect(stringBytes("나이키")).toBe(6);
    expect(stringBytes(`{"name":"에어 조던","price":1}`)).toBe(2 * `{"name":"에어 조던","price":1}`.length);
  });
});

describe("the near cache of lists", () => {
  it("keeps no more than its bound in bytes, however the pages are spelled", () => {
    const near = new MemoryNearCache();
    const page = "가".repeat(MiB / 2); // 1 MiB in memory, half that in length
    const expiresAt = Date.now() + 60_000;
    const pages = Math.ceil((2 * LIST_NEAR_CACHE_MAX_BYTES) / MiB);
    for (let i = 0; i < pages; i++) near.set(`list:${i}`, { body: page, expiresAt });
    const kept = Array.from({ length: pages }, (_, i) => near.get(`list:${i}`)).filter(Boolean).length;
    expect(kept * MiB).toBeLessThanOrEqual(LIST_NEAR_CACHE_MAX_BYTES);
    // The newest stay.
    expect(near.get(`list:${pages - 1}`)?.body).toBe(page);
  });
});

describe("the single-instance cache", () => {
  it("keeps no more than its bound in bytes, however the entries are spelled", async () => {
    const cache = new MemoryCache();
    const entry = "가".repeat(MiB / 2);
    for (let i = 0; i < 130; i++) await cache.set(`k:${i}`, entry, 60);
    // 64 MiB: 64 entries of 1 MiB at most (130 of them by length alone).
    expect(cache.size).toBeLessThanOrEqual(64);
  });
});

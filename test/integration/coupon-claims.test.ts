import { afterAll, describe, expect, it } from "bun:test";
import Redis from "ioredis";
import type { Coupon } from "../../src/domain/coupons/coupon";
import type { ClaimTicket, CouponClaims } from "../../src/domain/coupons/ports";
import { MemoryCouponClaims } from "../../src/infra/memory/memory-coupon-claims";
import {
  CLAIM_CONNECTION_OPTIONS,
  couponKeys,
  RedisCouponClaims,
} from "../../src/infra/redis/coupons/redis-coupon-claims";
import { createRedis } from "../../src/infra/redis/redis-client";
import { couponRecord } from "../support/coupon-factory";
import { domainErrorOf } from "../support/domain-error";
import { hasRedis } from "../support/harness";

const { services } = globalThis.kicksTest;
const HOUR = 3600_000;

/** A coupon open from an hour ago to an hour from now (real time: the Redis script reads Redis's clock). */
const openCoupon = (overrides: Partial<Coupon> = {}) =>
  couponRecord({ validFrom: new Date(Date.now() - HOUR), validUntil: new Date(Date.now() + HOUR), ...overrides });
const users = (n: number) => Array.from({ length: n }, () => Bun.randomUUIDv7());

async function loaded(claims: CouponClaims, coupon: Coupon, holderIds: string[] = []) {
  expect(await claims.load({ coupon, holderIds }, null)).toBe("installed");
  return coupon;
}

async function claimed(claims: CouponClaims, couponId: string, userId: string): Promise<ClaimTicket> {
  const outcome = await claims.claim(couponId, userId);
  if (outcome.kind !== "claimed") throw new Error(`expected a claim, got ${outcome.kind}`);
  return outcome.ticket;
}

/** One contract for both adapters: the in-process one must behave exactly like the Lua scripts. */
function behavesLikeLimitedIssueState(open: () => CouponClaims) {
  // Opened inside each test: a skipped describe still registers its tests, and without Redis there is none.
  it("has no state for a coupon never loaded, and loads one only over the state it expected", async () => {
    const claims = open();
    const coupon = openCoupon();
    expect(await claims.claim(coupon.id, Bun.randomUUIDv7())).toEqual({ kind: "not_loaded", epoch: null });
    expect(await claims.load({ coupon, holderIds: [] }, null)).toBe("installed");
    // A second builder that also saw "missing" must not replace the state now in use.
    expect(await claims.load({ coupon, holderIds: [] }, null)).toBe("superseded");
    expect(await claims.load({ coupon, holderIds: [] }, "some-other-epoch")).toBe("superseded");
  });

  it("claims one per user and no more than the total, counting holders loaded from PostgreSQL", async () => {
    const claims = open();
    const [earlier, ...others] = users(4);
    const coupon = await loaded(claims, openCoupon({ totalQuantity: 3 }), [earlier as string]);
    const first = await claimed(claims, coupon.id, others[0] as string);
    const again = await claims.claim(coupon.id, others[0] as string);
    expect(again).toEqual({ kind: "already_issued", ticket: first });
    const held = await claims.claim(coupon.id, earlier as string);
    expect(held.kind === "already_issued" && held.ticket.claimedAtMs).toBe(0);
    await claimed(claims, coupon.id, others[1] as string);
    expect(await claims.claim(coupon.id, others[2] as string)).toEqual({ kind: "sold_out" });
  });

  it.each([
    ["suspended", "lifecycle", { suspendedAt: new Date() }],
    ["cancelled", "lifecycle", { cancelledAt: new Date() }],
    [
      "not yet valid",
      "window",
      { validFrom: new Date(Date.now() + HOUR), validUntil: new Date(Date.now() + 2 * HOUR), suspendedAt: new Date() },
    ],
    ["expired", "window", { validFrom: new Date(Date.now() - 2 * HOUR), validUntil: new Date(Date.now() - 1000) }],
  ] as const)(
    "answers not_active for a %s coupon (by its %s) before looking at holders or units",
    async (_, reason, overrides) => {
      const claims = open();
      const [holder] = users(1);
      const coupon = await loaded(claims, openCoupon({ totalQuantity: 1, ...overrides }), [holder as string]);
      expect(await claims.claim(coupon.id, holder as string)).toEqual({ kind: "not_active", reason });
      expect(await claims.claim(coupon.id, Bun.randomUUIDv7())).toEqual({ kind: "not_active", reason });
    },
  );

  it("gives a claim back only if it is still that claim in that state", async () => {
    const claims = open();
    const coupon = await loaded(claims, openCoupon({ totalQuantity: 1 }));
    const [user] = users(1) as [string];
    const ticket = await claimed(claims, coupon.id, user);
    expect(await claims.release({ ...ticket, epoch: "another-state" })).toBe(false);
    expect(await claims.release({ ...ticket, claimedAtMs: ticket.claimedAtMs + 1 })).toBe(false);
    expect(await claims.claim(coupon.id, Bun.randomUUIDv7())).toEqual({ kind: "sold_out" });
    expect(await claims.release(ticket)).toBe(true);
    expect(await claims.release(ticket)).toBe(false);
    // The unit is back, for anyone.
    await claimed(claims, coupon.id, Bun.randomUUIDv7());
  });

  it("makes the next claim rebuild a state marked stale, and only the rebuild that saw it replaces it", async () => {
    const claims = open();
    const coupon = await loaded(claims, openCoupon());
    const ticket = await claimed(claims, coupon.id, Bun.randomUUIDv7());
    expect(await claims.release(ticket, { markStale: true })).toBe(true);
    const outcome = await claims.claim(coupon.id, Bun.randomUUIDv7());
    expect(outcome).toEqual({ kind: "not_loaded", epoch: ticket.epoch });
    expect(await claims.load({ coupon, holderIds: [] }, null)).toBe("superseded");
    expect(await claims.load({ coupon, holderIds: [] }, ticket.epoch)).toBe("installed");
    expect((await claims.claim(coupon.id, Bun.randomUUIDv7())).kind).toBe("claimed");
  });

  it("applies lifecycle changes at once, never an older one over a newer one", async () => {
    const claims = open();
    const coupon = await loaded(claims, openCoupon({ version: 0 }));
    expect(await claims.updateLifecycle({ ...coupon, version: 2, suspendedAt: new Date() })).toBe(true);
    expect(await claims.claim(coupon.id, Bun.randomUUIDv7())).toEqual({ kind: "not_active", reason: "lifecycle" });
    // The resume of version 1 arrives after the suspend of version 2: it is ignored.
    expect(await claims.updateLifecycle({ ...coupon, version: 1, suspendedAt: null })).toBe(false);
    expect(await claims.claim(coupon.id, Bun.randomUUIDv7())).toEqual({ kind: "not_active", reason: "lifecycle" });
    expect(await claims.updateLifecycle({ ...coupon, version: 3, suspendedAt: null })).toBe(true);
    expect((await claims.claim(coupon.id, Bun.randomUUIDv7())).kind).toBe("claimed");
  });

  it("never installs a snapshot older than a lifecycle change it has seen, with or without a state", async () => {
    const claims = open();
    const suspended = openCoupon({ version: 1, suspendedAt: new Date() });
    const resumed = { ...suspended, version: 2, suspendedAt: null };
    // The resume reaches Redis before any state exists: it is kept for the build.
    expect(await claims.updateLifecycle(resumed)).toBe(false);
    expect(await claims.claim(suspended.id, Bun.randomUUIDv7())).toEqual({ kind: "not_loaded", epoch: null });
    expect(await claims.load({ coupon: suspended, holderIds: [] }, null)).toBe("outdated");
    expect(await claims.load({ coupon: resumed, holderIds: [] }, null)).toBe("installed");
    expect((await claims.claim(suspended.id, Bun.randomUUIDv7())).kind).toBe("claimed");
    // A stale state that took a later change is not rebuilt from a snapshot read before it either.
    const state = (await claims.inspect(suspended.id))!;
    await claims.repair(suspended.id, state.epoch, { add: [], remove: [] }, { markStale: true });
    expect(await claims.updateLifecycle({ ...resumed, version: 3, suspendedAt: new Date() })).toBe(true);
    expect(await claims.load({ coupon: resumed, holderIds: [] }, state.epoch)).toBe("outdated");
  });

  it("counts holders of the database path once loaded, and tells when there is nothing to note", async () => {
    const claims = open();
    const notLoaded = openCoupon();
    expect(await claims.recordHolder(notLoaded.id, Bun.randomUUIDv7())).toBeUndefined();
    const coupon = await loaded(claims, openCoupon({ totalQuantity: 2 }));
    const [a, b] = users(2) as [string, string];
    const noted = await claims.recordHolder(coupon.id, a);
    expect(noted).toMatchObject({ couponId: coupon.id, userId: a });
    expect(await claims.recordHolder(coupon.id, a)).toBeUndefined();
    expect((await claims.claim(coupon.id, a)).kind).toBe("already_issued");
    await claimed(claims, coupon.id, b);
    expect(await claims.claim(coupon.id, Bun.randomUUIDv7())).toEqual({ kind: "sold_out" });
    expect(await claims.release(noted as ClaimTicket)).toBe(true);
    expect((await claims.claim(coupon.id, Bun.randomUUIDv7())).kind).toBe("claimed");
  });

  it("shows its holders for reconciliation and repairs them precisely within one epoch", async () => {
    const claims = open();
    const [confirmed, missing] = users(2) as [string, string];
    const coupon = await loaded(claims, openCoupon({ totalQuantity: 5 }), [confirmed]);
    const orphan = await claimed(claims, coupon.id, Bun.randomUUIDv7());
    const state = await claims.inspect(coupon.id);
    expect(state).toMatchObject({ epoch: orphan.epoch, stale: false, totalQuantity: 5, suspended: false });
    expect(state?.holders).toEqual(
      new Map([
        [confirmed, 0],
        [orphan.userId, orphan.claimedAtMs],
      ]),
    );
    expect(await claims.repair(coupon.id, "another-state", { add: [missing], remove: [] })).toBe(false);
    const repair = { add: [missing], remove: [{ userId: orphan.userId, claimedAtMs: orphan.claimedAtMs }] };
    expect(await claims.repair(coupon.id, orphan.epoch, repair)).toBe(true);
    expect((await claims.inspect(coupon.id))?.holders).toEqual(
      new Map([
        [confirmed, 0],
        [missing, 0],
      ]),
    );
    expect(await claims.inspect(openCoupon().id)).toBeUndefined();
  });

  it("grants exactly the total to 200 concurrent claims of different users", async () => {
    const claims = open();
    const coupon = await loaded(claims, openCoupon({ totalQuantity: 25 }));
    const outcomes = await Promise.all(users(200).map((user) => claims.claim(coupon.id, user)));
    expect(outcomes.filter((o) => o.kind === "claimed")).toHaveLength(25);
    expect(outcomes.filter((o) => o.kind === "sold_out")).toHaveLength(175);
  });

  it("grants one of 50 concurrent claims of the same user", async () => {
    const claims = open();
    const coupon = await loaded(claims, openCoupon());
    const [user] = users(1) as [string];
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => claims.claim(coupon.id, user)));
    expect(outcomes.filter((o) => o.kind === "claimed")).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === "already_issued")).toHaveLength(49);
  });
}

describe("MemoryCouponClaims", () => {
  behavesLikeLimitedIssueState(() => new MemoryCouponClaims());
});

const prefix = `${services.redisKeyPrefix}claims-${crypto.randomUUID()}:`;
const claimsRedis = hasRedis
  ? createRedis(services.redisUrl as string, prefix, undefined, CLAIM_CONNECTION_OPTIONS)
  : undefined;
const raw = hasRedis ? new Redis(services.redisUrl as string) : undefined;
afterAll(async () => {
  await claimsRedis?.quit();
  await raw?.quit();
});

describe.skipIf(!hasRedis)("RedisCouponClaims", () => {
  behavesLikeLimitedIssueState(() => new RedisCouponClaims(claimsRedis as Redis));

  it("keeps every key of a coupon under REDIS_KEY_PREFIX and one hash tag (ioredis prefixes script KEYS too)", async () => {
    const claims = new RedisCouponClaims(claimsRedis as Redis);
    const coupon = await loaded(claims, openCoupon());
    await claimed(claims, coupon.id, Bun.randomUUIDv7());
    const keys = (await (raw as Redis).keys(`${prefix}*${coupon.id}*`)).sort();
    expect(keys).toEqual([`${prefix}{coupon:${coupon.id}}:holders`, `${prefix}{coupon:${coupon.id}}:state`]);
    expect(await (raw as Redis).exists(couponKeys(coupon.id).state)).toBe(0);
    // Redis Cluster hashes only what is inside the first {…}: the same for every key of the coupon.
    const tags = keys.map((key) => /\{([^}]*)\}/.exec(key)?.[1]);
    expect(new Set(tags)).toEqual(new Set([`coupon:${coupon.id}`]));
    expect(prefix).not.toMatch(/[{}]/);
  });

  it("runs the claim by EVALSHA of a script Redis has cached", async () => {
    const claims = new RedisCouponClaims(claimsRedis as Redis);
    const coupon = await loaded(claims, openCoupon());
    await claimed(claims, coupon.id, Bun.randomUUIDv7());
    const sha = new Bun.CryptoHasher("sha1")
      .update(await Bun.file(`${import.meta.dir}/../../src/infra/redis/coupons/claim-coupon.lua`).text())
      .digest("hex");
    expect(await (raw as Redis).script("EXISTS", sha)).toEqual([1]);
  });

  it("treats a lost holders set as no state, not as nobody holding one", async () => {
    const claims = new RedisCouponClaims(claimsRedis as Redis);
    const [holder] = users(1) as [string];
    const coupon = await loaded(claims, openCoupon({ totalQuantity: 1 }), [holder]);
    const ticket = await claims.claim(coupon.id, holder);
    await (raw as Redis).del(`${prefix}${couponKeys(coupon.id).holders}`);
    expect(await claims.claim(coupon.id, Bun.randomUUIDv7())).toEqual({
      kind: "not_loaded",
      epoch: ticket.kind === "already_issued" ? ticket.ticket.epoch : "?",
    });
  });

  it("opens the window by Redis server time", async () => {
    const claims = new RedisCouponClaims(claimsRedis as Redis);
    const [seconds] = (await (raw as Redis).time()) as [number | string, number | string];
    const redisNow = Number(seconds) * 1000;
    const coupon = await loaded(
      claims,
      openCoupon({ validFrom: new Date(redisNow + 1500), validUntil: new Date(redisNow + HOUR) }),
    );
    expect(await claims.claim(coupon.id, Bun.randomUUIDv7())).toEqual({ kind: "not_active", reason: "window" });
    await Bun.sleep(2000);
    expect((await claims.claim(coupon.id, Bun.randomUUIDv7())).kind).toBe("claimed");
  });

  it("answers UNAVAILABLE at once when Redis cannot be reached, without queueing the claim", async () => {
    const down = createRedis("redis://127.0.0.1:1", prefix, undefined, CLAIM_CONNECTION_OPTIONS);
    down.on("error", () => {});
    try {
      await Bun.sleep(100);
      const started = performance.now();
      const error = await domainErrorOf(new RedisCouponClaims(down).claim(Bun.randomUUIDv7(), Bun.randomUUIDv7()));
      expect(error.code).toBe("UNAVAILABLE");
      expect(error.extensions?.retryAfterSeconds).toBeGreaterThan(0);
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      down.disconnect();
    }
  });
});

import { afterAll, describe, expect, it } from "bun:test";
import type Redis from "ioredis";
import { CouponIssue, DEFAULT_ISSUE_TIMING, type IssueTiming } from "../../src/domain/coupons/coupon-issue";
import { CouponStateReconciliation } from "../../src/domain/coupons/coupon-reconciliation";
import type { CompensationReason, CouponClaims, CouponIssueObserver } from "../../src/domain/coupons/ports";
import { systemClock } from "../../src/domain/shared/clock";
import { DrizzleCouponRepository } from "../../src/infra/db/repositories/coupon-repository";
import { DrizzleOutboxWriter } from "../../src/infra/db/repositories/outbox-repository";
import { DrizzleUserCouponRepository } from "../../src/infra/db/repositories/user-coupon-repository";
import { Transactions } from "../../src/infra/db/transactions";
import { MemoryCouponClaims } from "../../src/infra/memory/memory-coupon-claims";
import { MemoryLocks } from "../../src/infra/memory/memory-locks";
import { CLAIM_CONNECTION_OPTIONS, RedisCouponClaims } from "../../src/infra/redis/coupons/redis-coupon-claims";
import { createRedis } from "../../src/infra/redis/redis-client";
import { RedisLocks } from "../../src/infra/redis/redis-locks";
import { createCoupon, failCouponWritesFor } from "../support/coupons";
import { domainErrorOf } from "../support/domain-error";
import { createTestApp, hasRedis } from "../support/harness";
import { cheapBuyers } from "../support/users";

// The limited path's answers to a Redis state that went wrong: claims whose request died, holders the
// state lost, a suspension it missed, a database write that failed. PostgreSQL is the truth each time.
const t = await createTestApp();
const { services } = globalThis.kicksTest;
const seller = await t.registerUser("SELLER");
const transactions = new Transactions(t.container.database.db);
const coupons = new DrizzleCouponRepository(transactions);
const userCoupons = new DrizzleUserCouponRepository(transactions);

const redis = hasRedis
  ? createRedis(services.redisUrl as string, `${services.redisKeyPrefix}recovery:`, undefined, CLAIM_CONNECTION_OPTIONS)
  : undefined;
afterAll(async () => {
  await redis?.quit();
  await t.close();
});

function recordingObserver() {
  const seen = { compensations: [] as CompensationReason[], builds: 0 };
  const observer: CouponIssueObserver = {
    issueOutcome: () => {},
    compensation: (reason) => void seen.compensations.push(reason),
    stateBuilt: () => void seen.builds++,
    stateUnreachable: () => {},
    claimsWritten: () => {},
  };
  return { seen, observer };
}

function limitedIssue(claims: CouponClaims, timing: Partial<IssueTiming> = {}) {
  const { seen, observer } = recordingObserver();
  const orphanGraceMs = timing.orphanGraceMs ?? DEFAULT_ISSUE_TIMING.orphanGraceMs;
  const issue = new CouponIssue({
    coupons,
    userCoupons,
    claims,
    reconciliation: new CouponStateReconciliation({ coupons, claims, clock: systemClock, orphanGraceMs }),
    locks: claims instanceof RedisCouponClaims ? new RedisLocks(redis as Redis) : new MemoryLocks(),
    unitOfWork: transactions,
    outbox: new DrizzleOutboxWriter(transactions, () => Bun.randomUUIDv7()),
    clock: systemClock,
    newId: () => Bun.randomUUIDv7(),
    observer,
    timing,
  });
  const claim = (couponId: string, userId: string) =>
    issue.issueLimited({ userId, role: "BUYER" }, { couponId, userId });
  return { issue, claim, seen };
}

const buyers = (n: number) => cheapBuyers(t.container.database, t.container.services.tokens, n);
const holdersOf = async (claims: CouponClaims, couponId: string) =>
  [...((await claims.inspect(couponId))?.holders.keys() ?? [])].sort();
/** The state loses a holder PostgreSQL has (as a rebuild racing that claim's write could leave it). */
async function forgetHolder(claims: CouponClaims, couponId: string, userId: string) {
  const state = (await claims.inspect(couponId))!;
  const claimedAtMs = state.holders.get(userId) as number;
  await claims.repair(couponId, state.epoch, { add: [], remove: [{ userId, claimedAtMs }] });
}
const issuedQuantity = async (couponId: string) => (await coupons.find(couponId))?.issuedQuantity;

function recoversFromAWrongState(open: () => CouponClaims) {
  it("treats a recent claim PostgreSQL has not seen as in flight, and an old one as an orphan to recover", async () => {
    const claims = open();
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 5 });
    const [user] = await buyers(1);
    const patient = limitedIssue(claims);
    // Build the state, then claim as a request would that then lost Redis's reply (or died).
    await patient.claim(coupon.id, (await buyers(1))[0]!.id);
    expect((await claims.claim(coupon.id, user!.id)).kind).toBe("claimed");
    expect((await domainErrorOf(patient.claim(coupon.id, user!.id))).code).toBe("COUPON_ALREADY_ISSUED");
    await Bun.sleep(5); // older than a grace of 0 ms
    const { claim, seen } = limitedIssue(claims, { orphanGraceMs: 0 });
    const recovered = await claim(coupon.id, user!.id);
    expect(recovered).toMatchObject({ userId: user!.id, status: "ISSUED" });
    expect(seen.compensations).toEqual(["orphaned"]);
    expect(await issuedQuantity(coupon.id)).toBe(2);
  });

  it("gives units stuck in orphaned claims back when the state says sold out but PostgreSQL has some left", async () => {
    const claims = open();
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 1 });
    const [orphan, buyer] = await buyers(2);
    const { claim, seen } = limitedIssue(claims, { orphanGraceMs: 0 });
    await claims.load((await coupons.snapshot(coupon.id))!, null);
    expect((await claims.claim(coupon.id, orphan!.id)).kind).toBe("claimed");
    await Bun.sleep(5); // older than a grace of 0 ms
    const issued = await claim(coupon.id, buyer!.id);
    expect(issued.userId).toBe(buyer!.id);
    expect(await holdersOf(claims, coupon.id)).toEqual([buyer!.id]);
    expect(await issuedQuantity(coupon.id)).toBe(1);
    expect(seen.compensations).toEqual([]);
  });

  it("keeps the claim of a holder the state had lost: PostgreSQL says already issued, and that is now true in both", async () => {
    const claims = open();
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 3 });
    const [holder] = await buyers(1);
    const { claim, seen } = limitedIssue(claims);
    await claim(coupon.id, holder!.id);
    await forgetHolder(claims, coupon.id, holder!.id);
    expect((await domainErrorOf(claim(coupon.id, holder!.id))).code).toBe("COUPON_ALREADY_ISSUED");
    expect(await holdersOf(claims, coupon.id)).toEqual([holder!.id]);
    expect(seen.compensations).toEqual([]);
    expect(await issuedQuantity(coupon.id)).toBe(1);
  });

  it("gives back a claim PostgreSQL refuses as sold out, and rebuilds the drifted state from PostgreSQL", async () => {
    const claims = open();
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 1 });
    const [holder, late, later] = await buyers(3);
    const { claim, seen } = limitedIssue(claims);
    await claim(coupon.id, holder!.id);
    await forgetHolder(claims, coupon.id, holder!.id);
    // The state thinks a unit is left; PostgreSQL knows better.
    expect((await domainErrorOf(claim(coupon.id, late!.id))).code).toBe("COUPON_SOLD_OUT");
    expect(seen.compensations).toEqual(["refused"]);
    expect((await domainErrorOf(claim(coupon.id, later!.id))).code).toBe("COUPON_SOLD_OUT");
    expect(seen.builds).toBe(2);
    expect(await holdersOf(claims, coupon.id)).toEqual([holder!.id]);
    expect(await issuedQuantity(coupon.id)).toBe(1);
  });

  it("refuses a claim for a suspension the state missed, and rebuilds so the next one is refused in Redis", async () => {
    const claims = open();
    const coupon = await createCoupon(t, seller.token);
    const [first, second, third] = await buyers(3);
    const { claim, seen } = limitedIssue(claims);
    await claim(coupon.id, first!.id);
    await coupons.saveLifecycle(coupon.id, { suspendedAt: new Date(), cancelledAt: null });
    expect((await domainErrorOf(claim(coupon.id, second!.id))).code).toBe("COUPON_NOT_ACTIVE");
    expect(seen.compensations).toEqual(["refused"]);
    expect((await domainErrorOf(claim(coupon.id, third!.id))).code).toBe("COUPON_NOT_ACTIVE");
    expect(seen.compensations).toEqual(["refused"]);
    expect(await holdersOf(claims, coupon.id)).toEqual([first!.id]);
  });

  it("gives the claim back when the database write fails, so no unit is lost", async () => {
    const claims = open();
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 1 });
    const [unlucky, next] = await buyers(2);
    const { claim, seen } = limitedIssue(claims);
    await claims.load((await coupons.snapshot(coupon.id))!, null);
    const restore = failCouponWritesFor(userCoupons, new Set([unlucky!.id]));
    try {
      await expect(claim(coupon.id, unlucky!.id)).rejects.toThrow("dropped the connection");
    } finally {
      restore();
    }
    expect(seen.compensations).toEqual(["failed"]);
    expect(await holdersOf(claims, coupon.id)).toEqual([]);
    expect((await claim(coupon.id, next!.id)).userId).toBe(next!.id);
  });

  it("answers COUPON_NOT_FOUND for an unknown coupon without leaving a state behind", async () => {
    const claims = open();
    const { claim } = limitedIssue(claims);
    const missing = Bun.randomUUIDv7();
    expect((await domainErrorOf(claim(missing, (await buyers(1))[0]!.id))).code).toBe("COUPON_NOT_FOUND");
    expect(await claims.inspect(missing)).toBeUndefined();
  });
}

describe("the limited path over the in-process state", () => {
  recoversFromAWrongState(() => new MemoryCouponClaims());
});

describe.skipIf(!hasRedis)("the limited path over Redis", () => {
  recoversFromAWrongState(() => new RedisCouponClaims(redis as Redis));
});

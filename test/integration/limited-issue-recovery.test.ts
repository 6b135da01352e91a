import { afterAll, describe, expect, it } from "bun:test";
import type Redis from "ioredis";
import { CouponIssue } from "../../src/domain/coupons/coupon-issue";
import { CouponStateReconciliation } from "../../src/domain/coupons/coupon-reconciliation";
import { DEFAULT_ISSUE_TIMING, type IssueTiming } from "../../src/domain/coupons/issue-timing";
import type { CompensationReason, CouponClaims, CouponIssueObserver } from "../../src/domain/coupons/ports";
import { DrizzleCouponRepository } from "../../src/infra/db/repositories/coupon-repository";
import { DrizzleOutboxWriter } from "../../src/infra/db/repositories/outbox-repository";
import { DrizzleUserCouponRepository } from "../../src/infra/db/repositories/user-coupon-repository";
import { Transactions } from "../../src/infra/db/transactions";
import { MemoryCouponClaims } from "../../src/infra/memory/memory-coupon-claims";
import { MemoryLocks } from "../../src/infra/memory/memory-locks";
import { CLAIM_CONNECTION_OPTIONS, RedisCouponClaims } from "../../src/infra/redis/coupons/redis-coupon-claims";
import { createRedis } from "../../src/infra/redis/redis-client";
import { RedisLocks } from "../../src/infra/redis/redis-locks";
import { systemClock } from "../../src/infra/system-clock";
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
  it("never tells the owner of a claim PostgreSQL has not recorded that it holds the coupon: 503 with Retry-After within the grace, the coupon after it", async () => {
    const claims = open();
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 5 });
    const [user] = await buyers(1);
    const patient = limitedIssue(claims);
    // Build the state, then claim as a request would that then lost Redis's reply (or died).
    await patient.claim(coupon.id, (await buyers(1))[0]!.id);
    expect((await claims.claim(coupon.id, user!.id)).kind).toBe("claimed");
    const young = await domainErrorOf(patient.claim(coupon.id, user!.id));
    expect(young.code).toBe("UNAVAILABLE");
    expect(young.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
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

  it("answers SOLD_OUT with Retry-After while units are held by claims not recorded, and a final SOLD_OUT once PostgreSQL has none", async () => {
    const claims = open();
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 2 });
    const [victim, winner, newcomer, late] = await buyers(4);
    await claims.load((await coupons.snapshot(coupon.id))!, null);
    // The victim's request died after Redis granted its claim: nothing in PostgreSQL.
    expect((await claims.claim(coupon.id, victim!.id)).kind).toBe("claimed");
    // Its audit turn (a lock across instances) lasts 1 ms, so the next instance may audit at once.
    const patient = limitedIssue(claims, { auditIntervalMs: 1 });
    expect((await patient.claim(coupon.id, winner!.id)).userId).toBe(winner!.id);

    const meanwhile = await domainErrorOf(patient.claim(coupon.id, newcomer!.id));
    expect(meanwhile.code).toBe("COUPON_SOLD_OUT");
    expect(meanwhile.extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);

    await Bun.sleep(5); // the victim's claim is now older than a grace of 0 ms
    const after = limitedIssue(claims, { orphanGraceMs: 0 });
    expect((await after.claim(coupon.id, newcomer!.id)).userId).toBe(newcomer!.id);
    const final = await domainErrorOf(after.claim(coupon.id, late!.id));
    expect(final.code).toBe("COUPON_SOLD_OUT");
    expect(final.extensions?.retryAfterSeconds).toBeUndefined();
    expect(await holdersOf(claims, coupon.id)).toEqual([winner!.id, newcomer!.id].sort());
  });

  it("offers every unit a crash left in unrecorded claims to the claims that come after the grace", async () => {
    const claims = open();
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 20 });
    const [victims, issued, newcomers] = [await buyers(15), await buyers(5), await buyers(25)];
    await claims.load((await coupons.snapshot(coupon.id))!, null);
    // Mid-drop, a process dies after Redis granted 15 claims and before any was written.
    for (const victim of victims) expect((await claims.claim(coupon.id, victim.id)).kind).toBe("claimed");
    const survivor = limitedIssue(claims, { orphanGraceMs: 200 });
    for (const buyer of issued) await survivor.claim(coupon.id, buyer.id);
    await Bun.sleep(250);

    // Everyone claims at once, and retries what is not final (Retry-After) until it is.
    const outcomes = await Promise.all(
      newcomers.map(async (buyer) => {
        for (let attempt = 0; attempt < 20; attempt++) {
          try {
            await survivor.claim(coupon.id, buyer.id);
            return "issued";
          } catch (error) {
            const { code, extensions } = error as { code: string; extensions?: Record<string, unknown> };
            if (extensions?.retryAfterSeconds === undefined) return code;
            await Bun.sleep(50);
          }
        }
        return "still waiting";
      }),
    );
    expect(outcomes.filter((o) => o === "issued")).toHaveLength(15);
    expect(outcomes.filter((o) => o === "COUPON_SOLD_OUT")).toHaveLength(10);
    expect(await issuedQuantity(coupon.id)).toBe(20);
    const inDatabase = (await coupons.snapshot(coupon.id))!.holderIds.sort();
    expect(await holdersOf(claims, coupon.id)).toEqual(inDatabase);
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

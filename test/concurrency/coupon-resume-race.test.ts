import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import type { CouponRepository, CouponSnapshot } from "../../src/domain/coupons/ports";
import { checkCouponStates, STATE_BEHIND_RULE } from "../../src/infra/redis/coupons/coupon-state-check";
import { couponKeys } from "../../src/infra/redis/coupons/redis-coupon-claims";
import { createRedis } from "../../src/infra/redis/redis-client";
import { scheduleCouponReconciliation, sweepCouponStates } from "../../src/workers/coupon-reconciliation";
import { claimsOf, createCoupon } from "../support/coupons";
import { createTestApp, hasRedis } from "../support/harness";
import { type CheapUser, cheapBuyers } from "../support/users";
import { waitFor } from "../support/wait";

setDefaultTimeout(60_000);

// Two app instances over one PostgreSQL and one Redis (or, without Redis, the in-process state both share
// nothing of: then only the single-instance part runs). The race of a state build with a lifecycle change on
// the other instance is injected deterministically: instance A's build is held right after it read its
// snapshot, while instance B changes the coupon.
const a = await createTestApp();
const b = await createTestApp();
const { services } = globalThis.kicksTest;
const redis = hasRedis ? createRedis(services.redisUrl as string, services.redisKeyPrefix) : undefined;
afterAll(async () => {
  await redis?.quit();
  await a.close();
  await b.close();
});
/** What `bun run invariants` says about this coupon's Redis state. */
const checked = (couponId: string) =>
  checkCouponStates({ db: a.container.database.db, redis: redis! }, { couponIds: [couponId], settleMs: 0 });

const seller = await a.registerUser("SELLER");
const buyers = (n: number) => cheapBuyers(a.container.database, a.container.services.tokens, n);
const claimOn = (t: typeof a, couponId: string, user: CheapUser) =>
  t.post("/api/v1/coupons/issue/limited", { couponId, userId: user.id }, user);
const act = (t: typeof a, couponId: string, action: "suspend" | "resume" | "cancel") =>
  t.post(`/api/v1/coupons/${couponId}/${action}`, undefined, seller);

/** Instance A's coupon repository (shared by its services), to hold its builder after the snapshot is read. */
const repositoryOf = (t: typeof a) =>
  (t.container.services.couponIssue as unknown as { deps: { coupons: CouponRepository } }).deps.coupons;

/** The next snapshot A reads is handed over only once `release()` is called. */
function holdNextSnapshot(t: typeof a) {
  const repository = repositoryOf(t);
  const original = repository.snapshot;
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let read!: (snapshot: CouponSnapshot | undefined) => void;
  const taken = new Promise<CouponSnapshot | undefined>((resolve) => {
    read = resolve;
  });
  repository.snapshot = async (id: string) => {
    repository.snapshot = original;
    const snapshot = await original.call(repository, id);
    read(snapshot);
    await released;
    return snapshot;
  };
  return { taken, release };
}

describe.skipIf(!hasRedis)("a coupon resumed on one instance while another builds its state", () => {
  it("is claimable at once: a snapshot older than PostgreSQL's version never wins", async () => {
    const coupon = await createCoupon(a, seller.token, { totalQuantity: 5 });
    expect((await act(b, coupon.id, "suspend")).status).toBe(200);
    const [first, second, third] = await buyers(3);

    // A finds no state and builds it; its snapshot says SUSPENDED (version 1).
    const held = holdNextSnapshot(a);
    const claiming = claimOn(a, coupon.id, first!);
    expect((await held.taken)?.coupon.suspendedAt).not.toBeNull();
    // Meanwhile B resumes it (version 2), and finds no state in Redis to tell.
    expect((await act(b, coupon.id, "resume")).status).toBe(200);
    held.release();

    expect((await claiming).status).toBe(201);
    expect((await claimOn(b, coupon.id, second!)).status).toBe(201);
    expect((await claimOn(a, coupon.id, third!)).status).toBe(201);
    const state = await claimsOf(a).inspect(coupon.id);
    expect(state).toMatchObject({ suspended: false, version: 2 });
  });

  it("is claimable at once after a resume Redis never heard of (a partition): the database's version decides", async () => {
    const coupon = await createCoupon(a, seller.token, { totalQuantity: 5 });
    const [first, second, third] = await buyers(3);
    expect((await claimOn(a, coupon.id, first!)).status).toBe(201);
    expect((await act(a, coupon.id, "suspend")).status).toBe(200);
    expect((await claimOn(b, coupon.id, second!)).body.code).toBe("COUPON_NOT_ACTIVE");
    // Resumed in PostgreSQL while Redis was unreachable from the instance that did it: Redis still says
    // suspended, at version 1.
    await repositoryOf(b).saveLifecycle(coupon.id, { suspendedAt: null, cancelledAt: null });
    expect(await claimsOf(a).inspect(coupon.id)).toMatchObject({ suspended: true, version: 1 });
    expect((await checked(coupon.id)).map((v) => v.rule)).toEqual([STATE_BEHIND_RULE]);

    expect((await claimOn(b, coupon.id, second!)).status).toBe(201);
    expect((await claimOn(a, coupon.id, third!)).status).toBe(201);
    expect(await claimsOf(a).inspect(coupon.id)).toMatchObject({ suspended: false, version: 2 });
    expect(await checked(coupon.id)).toEqual([]);
  });

  it("stays refused while PostgreSQL says it is suspended, whatever Redis says", async () => {
    const coupon = await createCoupon(a, seller.token, { totalQuantity: 5 });
    const [first, second] = await buyers(2);
    expect((await claimOn(a, coupon.id, first!)).status).toBe(201);
    await repositoryOf(b).saveLifecycle(coupon.id, { suspendedAt: new Date(), cancelledAt: null });
    expect((await claimOn(b, coupon.id, second!)).body.code).toBe("COUPON_NOT_ACTIVE");
    expect((await claimOn(a, coupon.id, second!)).body.code).toBe("COUPON_NOT_ACTIVE");
  });
});

describe.skipIf(!hasRedis)("the scheduled coupon reconciliation", () => {
  const sweeper = (t: typeof a, intervalMs: number) => ({
    reconciliation: t.container.services.couponReconciliation,
    locks: t.container.services.locks,
    logger: t.container.logger,
    intervalMs,
  });

  /** A state with a missed resume and a claim orphaned a minute ago by a request that died. */
  async function drifted() {
    const coupon = await createCoupon(a, seller.token, { totalQuantity: 5 });
    const [first, victim] = await buyers(2);
    expect((await claimOn(a, coupon.id, first!)).status).toBe(201);
    expect((await claimsOf(a).claim(coupon.id, victim!.id)).kind).toBe("claimed");
    await redis!.zadd(couponKeys(coupon.id).holders, "XX", Date.now() - 60_000, victim!.id);
    expect((await act(a, coupon.id, "suspend")).status).toBe(200);
    await repositoryOf(b).saveLifecycle(coupon.id, { suspendedAt: null, cancelledAt: null });
    return { coupon, first: first!, victim: victim! };
  }

  it("repairs a missed resume and a dead request's claim without any claim, one instance per interval", async () => {
    const { coupon, first } = await drifted();
    const [one, other] = await Promise.all([
      sweepCouponStates(sweeper(a, 5_000)),
      sweepCouponStates(sweeper(b, 5_000)),
    ]);
    // Exactly one of the two instances swept in this interval.
    expect([one, other].filter((summary) => summary === undefined)).toHaveLength(1);
    expect((one ?? other)!.repaired).toBeGreaterThanOrEqual(1);
    const state = await claimsOf(b).inspect(coupon.id);
    expect(state).toMatchObject({ suspended: false, version: 2 });
    expect([...state!.holders.keys()]).toEqual([first.id]);
    expect(await checked(coupon.id)).toEqual([]);
  });

  it("runs by itself on every instance's schedule", async () => {
    const { coupon } = await drifted();
    // The sweep lock of the test before may still run its interval: wait for it (at most 4.5 s).
    const stop = scheduleCouponReconciliation(sweeper(b, 100));
    try {
      await waitFor(
        "the schedule to catch the state up",
        async () => {
          const state = await claimsOf(b).inspect(coupon.id);
          return state?.version === 2 && state.holders.size === 1;
        },
        15_000,
      );
    } finally {
      await stop();
    }
  });
});

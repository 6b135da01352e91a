import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { eq } from "drizzle-orm";
import Redis from "ioredis";
import { userCoupons } from "../../src/infra/db/schema";
import { couponKeys } from "../../src/infra/redis/coupons/redis-coupon-claims";
import { claimsOf, createCoupon, failCouponWritesFor } from "../support/coupons";
import { createTestApp, hasRedis } from "../support/harness";
import { type CheapUser, cheapBuyers } from "../support/users";

// Hundreds of parallel claims: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(60_000);

// Real sockets: a Bun server on a free port and `fetch` from the test, so claims truly run in parallel
// over separate connections, against the run's PostgreSQL and Redis (or the embedded twins).
const t = await createTestApp();
const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: t.app.fetch });
const { services } = globalThis.kicksTest;
afterAll(async () => {
  await server.stop(true);
  await t.close();
});

const base = `http://127.0.0.1:${server.port}`;
const seller = await t.registerUser("SELLER");
const claims = claimsOf(t);

type Path = "issue" | "issue/limited";

async function claim(path: Path, couponId: string, user: CheapUser) {
  const res = await fetch(`${base}/api/v1/coupons/${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ couponId, userId: user.id }),
  });
  const body = (await res.json()) as { code?: string; userId?: string };
  return { status: res.status, code: body.code, userId: user.id };
}

const buyers = (n: number) => cheapBuyers(t.container.database, t.container.services.tokens, n);

async function holdersInDatabase(couponId: string) {
  const rows = await t.container.database.db
    .select({ userId: userCoupons.userId })
    .from(userCoupons)
    .where(eq(userCoupons.couponId, couponId));
  return rows.map((row) => row.userId);
}

async function couponRead(couponId: string) {
  return (await t.get(`/api/v1/coupons/${couponId}`, seller)).body;
}

/** The value of a counter without labels on this app's /metrics. */
async function counterValue(name: string): Promise<number> {
  const metric = await t.container.services.metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
}

/**
 * No unit is lost: every holder in the Redis state is one in PostgreSQL. A rebuild that raced claims still
 * in flight may lack some of theirs (each lets one later claim through to PostgreSQL, which refuses it and
 * rebuilds again); reconciliation adds them, and then the two agree exactly.
 */
async function expectStateToAgreeWithDatabase(couponId: string) {
  const holders = (await holdersInDatabase(couponId)).sort();
  const inState = async () => [...((await claims.inspect(couponId))?.holders.keys() ?? [])].sort();
  expect((await inState()).filter((userId) => !holders.includes(userId))).toEqual([]);
  await t.container.services.couponReconciliation.reconcile(couponId, { repair: true });
  expect(await inState()).toEqual(holders);
}

const count = (results: { status: number; code?: string }[], status: number, code?: string) =>
  results.filter((r) => r.status === status && (code === undefined || r.code === code)).length;

describe("concurrent coupon issues", () => {
  it("issues exactly the total, one per user, when 200 users race on both paths at once", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 60 });
    const users = await buyers(200);
    // Every user tries both paths at the same moment: at most one of the two may win.
    const results = await Promise.all(
      users.flatMap((user) => [claim("issue", coupon.id, user), claim("issue/limited", coupon.id, user)]),
    );
    expect(results.filter((r) => r.status !== 201 && r.status !== 409)).toEqual([]);
    const winners = results.filter((r) => r.status === 201).map((r) => r.userId);
    expect(winners).toHaveLength(60);
    expect(new Set(winners).size).toBe(60);
    const holders = await holdersInDatabase(coupon.id);
    expect(holders.sort()).toEqual([...winners].sort());
    expect(await couponRead(coupon.id)).toMatchObject({
      issuedQuantity: 60,
      remainingQuantity: 0,
      status: "EXHAUSTED",
    });
    // The limited-issue state agrees with PostgreSQL once the dust settles.
    expect([...((await claims.inspect(coupon.id))?.holders.keys() ?? [])].sort()).toEqual(holders.sort());
  });

  it("lets one of 50 parallel limited claims by the same user through", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 10 });
    const [user] = (await buyers(1)) as [CheapUser];
    const results = await Promise.all(Array.from({ length: 50 }, () => claim("issue/limited", coupon.id, user)));
    expect(count(results, 201)).toBe(1);
    expect(count(results, 409, "COUPON_ALREADY_ISSUED")).toBe(49);
    expect(await holdersInDatabase(coupon.id)).toEqual([user.id]);
  });

  it("gives every claim back whose database write failed, so the units go to others", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 20 });
    const users = await buyers(30);
    const repository = (t.container.services.couponIssue as unknown as { deps: { userCoupons: any } }).deps.userCoupons;
    // The claims succeed in Redis; then the PostgreSQL writes of ten of the buyers fail.
    const unlucky = new Set(users.slice(0, 10).map((user) => user.id));
    const restore = failCouponWritesFor(repository, unlucky);
    let first: Awaited<ReturnType<typeof claim>>[];
    try {
      first = await Promise.all(users.map((user) => claim("issue/limited", coupon.id, user)));
    } finally {
      restore();
    }
    // The failures are exactly the unlucky buyers Redis granted a unit (the others heard sold out first).
    const failed = first.filter((r) => r.status === 500).map((r) => r.userId);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((userId) => unlucky.has(userId))).toBe(true);
    expect(first.some((r) => r.status === 201 && unlucky.has(r.userId))).toBe(false);
    expect(count(first, 201) + count(first, 409, "COUPON_SOLD_OUT") + failed.length).toBe(30);
    // A buyer arriving while a failing write still held its unit may hear "sold out": the unit comes back
    // a moment later, for the second wave.
    // Every failed claim was given back: the state holds exactly the winners.
    const holders = (await holdersInDatabase(coupon.id)).sort();
    expect(holders).toHaveLength(count(first, 201));
    expect([...((await claims.inspect(coupon.id))?.holders.keys() ?? [])].sort()).toEqual(holders);
    // Everyone without a coupon tries again: the units given back go to them, and no more.
    const empty = users.filter((user) => first.find((r) => r.userId === user.id)?.status !== 201);
    const retried = await Promise.all(empty.map((user) => claim("issue/limited", coupon.id, user)));
    expect(count(first, 201) + count(retried, 201)).toBe(20);
    expect(count(retried, 409, "COUPON_SOLD_OUT")).toBe(10);
    expect((await holdersInDatabase(coupon.id)).length).toBe(20);
  });
});

const raw = hasRedis ? new Redis(services.redisUrl as string) : undefined;
afterAll(async () => {
  await raw?.quit();
});

describe.skipIf(!hasRedis)("a drop whose Redis keys vanish half-way", () => {
  it("rebuilds the state from PostgreSQL and stays exact; earlier holders still hear COUPON_ALREADY_ISSUED", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 100 });
    const [early, late] = [await buyers(40), await buyers(260)];
    const firstWave = await Promise.all(early.map((user) => claim("issue/limited", coupon.id, user)));
    expect(count(firstWave, 201)).toBe(40);

    // The second wave: the earlier holders try again among 260 newcomers; after the 50th answer, this
    // run's keys of the coupon are deleted (as a Redis restart without persistence would) mid-flight.
    const keys = couponKeys(coupon.id);
    const buildsBefore = await counterValue("coupon_state_builds_total");
    let answered = 0;
    let flushed: Promise<unknown> | undefined;
    const secondWave = await Promise.all(
      [...late, ...early].map(async (user) => {
        const result = await claim("issue/limited", coupon.id, user);
        if (++answered === 50) {
          flushed = (raw as Redis).del(
            `${services.redisKeyPrefix}${keys.state}`,
            `${services.redisKeyPrefix}${keys.holders}`,
          );
        }
        return result;
      }),
    );
    expect(await flushed).toBeGreaterThan(0);
    expect(await counterValue("coupon_state_builds_total")).toBeGreaterThan(buildsBefore);
    expect(secondWave.filter((r) => r.status !== 201 && r.status !== 409)).toEqual([]);
    const earlyAgain = secondWave.filter((r) => early.some((user) => user.id === r.userId));
    expect(count(earlyAgain, 409, "COUPON_ALREADY_ISSUED")).toBe(40);
    expect(count(secondWave, 201)).toBe(60);

    const holders = await holdersInDatabase(coupon.id);
    expect(holders).toHaveLength(100);
    expect(new Set(holders).size).toBe(100);
    expect(await couponRead(coupon.id)).toMatchObject({ issuedQuantity: 100, status: "EXHAUSTED" });
    const [last] = (await buyers(1)) as [CheapUser];
    expect((await claim("issue/limited", coupon.id, last)).code).toBe("COUPON_SOLD_OUT");
    await expectStateToAgreeWithDatabase(coupon.id);
  });
});

import { afterAll, describe, expect, it } from "bun:test";
import { IN_FLIGHT_LEASE_MS } from "../../src/domain/idempotency/idempotency-service";
import { DrizzleIdempotencyRepository } from "../../src/infra/db/repositories/idempotency-repository";
import { Transactions } from "../../src/infra/db/transactions";
import { couponKeys } from "../../src/infra/redis/coupons/redis-coupon-claims";
import { createRedis } from "../../src/infra/redis/redis-client";
import { claimsOf, createCoupon } from "../support/coupons";
import { createTestApp, hasRedis } from "../support/harness";
import { type CheapUser, cheapBuyers } from "../support/users";

// A limited claim whose request died after Redis granted it, retried by its client with and without the same
// Idempotency-Key: the answer is never "you hold it" while the user holds nothing, and an answer that rests on
// the claim still being recorded or recovered (Retry-After) is never stored as the key's answer.
// Redis only: the test dates a claim back in the holders set, as if it had been made that long ago.
const t = await createTestApp();
const { services } = globalThis.kicksTest;
const redis = hasRedis ? createRedis(services.redisUrl as string, services.redisKeyPrefix) : undefined;
afterAll(async () => {
  await redis?.quit();
  await t.close();
});

const seller = await t.registerUser("SELLER");
const PATH = "/api/v1/coupons/issue/limited";
const claimWithKey = (couponId: string, user: CheapUser, key: string) =>
  t.post(PATH, { couponId, userId: user.id }, { token: user.token, headers: { "Idempotency-Key": key } });

/** What a request that died right after Redis granted its claim leaves: the claim, `ageMs` old, nothing more. */
async function deadRequestClaim(couponId: string, user: CheapUser, ageMs: number) {
  const outcome = await claimsOf(t).claim(couponId, user.id);
  expect(outcome.kind).toBe("claimed");
  await redis!.zadd(couponKeys(couponId).holders, "XX", Date.now() - ageMs, user.id);
}

/** The dead request also held `key` (its lease taken `ageMs` ago). */
async function deadRequestKey(couponId: string, user: CheapUser, key: string, ageMs: number) {
  const body = JSON.stringify({ couponId, userId: user.id });
  const repository = new DrizzleIdempotencyRepository(new Transactions(t.container.database.db));
  const startedAt = Date.now() - ageMs;
  const claimed = await repository.claim(
    { scope: user.id, method: "POST", path: PATH, key },
    {
      requestHash: new Bun.CryptoHasher("sha256").update(body).digest("hex"),
      claimToken: crypto.randomUUID(),
      now: new Date(startedAt),
      leaseUntil: new Date(startedAt + IN_FLIGHT_LEASE_MS),
      expiresAt: new Date(startedAt + 24 * 3600_000),
    },
  );
  expect(claimed).toBe(true);
}

async function openDrop(units: number) {
  const coupon = await createCoupon(t, seller.token, { totalQuantity: units });
  const [first] = await cheapBuyers(t.container.database, t.container.services.tokens, 1);
  // The state exists (built by a first claim), as it does mid-drop.
  expect((await t.post(PATH, { couponId: coupon.id, userId: first!.id }, first)).status).toBe(201);
  return coupon;
}

describe.skipIf(!hasRedis)("retrying a limited claim whose request died", () => {
  it("with the same key after the in-flight lease: the retry recovers the dead claim and issues the coupon", async () => {
    const coupon = await openDrop(5);
    const [victim] = await cheapBuyers(t.container.database, t.container.services.tokens, 1);
    const key = crypto.randomUUID();
    await deadRequestKey(coupon.id, victim!, key, IN_FLIGHT_LEASE_MS + 1_000);
    await deadRequestClaim(coupon.id, victim!, IN_FLIGHT_LEASE_MS);

    const retry = await claimWithKey(coupon.id, victim!, key);
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ couponId: coupon.id, userId: victim!.id, status: "ISSUED" });
    const replay = await claimWithKey(coupon.id, victim!, key);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.body.id).toBe(retry.body.id);
  });

  it("while its claim is young: 503 with Retry-After, the key released, and the coupon once the claim is an orphan", async () => {
    const coupon = await openDrop(5);
    const [victim] = await cheapBuyers(t.container.database, t.container.services.tokens, 1);
    await deadRequestClaim(coupon.id, victim!, 1_000);
    const key = crypto.randomUUID();

    const early = await claimWithKey(coupon.id, victim!, key);
    expect(early.status).toBe(503);
    expect(early.body.code).toBe("UNAVAILABLE");
    expect(Number(early.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    // Not stored: the same key runs again (no replay of the 503), and is not held in flight either.
    const again = await claimWithKey(coupon.id, victim!, key);
    expect(again.status).toBe(503);
    expect(again.headers.get("Idempotent-Replayed")).toBeNull();

    // Later, the claim is past the grace (dated back): the retry with the same key gets the coupon.
    await redis!.zadd(couponKeys(coupon.id).holders, "XX", Date.now() - IN_FLIGHT_LEASE_MS, victim!.id);
    const later = await claimWithKey(coupon.id, victim!, key);
    expect(later.status).toBe(201);
    expect(later.body.userId).toBe(victim!.id);
  });

  it("a newcomer hears SOLD_OUT with Retry-After (not stored) while a dead claim holds the last unit, then gets it", async () => {
    const coupon = await openDrop(2);
    const [victim, newcomer] = await cheapBuyers(t.container.database, t.container.services.tokens, 2);
    await deadRequestClaim(coupon.id, victim!, 1_000);
    const key = crypto.randomUUID();

    const early = await claimWithKey(coupon.id, newcomer!, key);
    expect(early.status).toBe(409);
    expect(early.body.code).toBe("COUPON_SOLD_OUT");
    expect(early.headers.get("Retry-After")).not.toBeNull();

    await redis!.zadd(couponKeys(coupon.id).holders, "XX", Date.now() - IN_FLIGHT_LEASE_MS, victim!.id);
    // The audit turn of the first refusal is still running its interval: the scheduled reconciliation (or
    // that interval's end) frees the unit; here the reconciliation runs now.
    await t.container.services.couponReconciliation.reconcile(coupon.id, { repair: true });
    const later = await claimWithKey(coupon.id, newcomer!, key);
    expect(later.status).toBe(201);
  });
});

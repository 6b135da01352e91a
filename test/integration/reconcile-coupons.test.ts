import { describe, expect, it, setDefaultTimeout } from "bun:test";
import { join } from "node:path";
import Redis from "ioredis";
import { couponKeys } from "../../src/infra/redis/coupons/redis-coupon-claims";
import { claimsOf, createCoupon } from "../support/coupons";
import { createTestApp, hasRedis, testEnv } from "../support/harness";
import { cheapBuyers } from "../support/users";

// It runs the command as a process three times: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(60_000);

// `bun run coupons:reconcile` as an operator runs it, against this run's database and Redis prefix.
const { services } = globalThis.kicksTest;
const shared = hasRedis && Boolean(services.databaseUrl);
const root = join(import.meta.dir, "../..");

async function reconcile(...args: string[]) {
  const proc = Bun.spawn(["bun", "run", "coupons:reconcile", ...args], {
    cwd: root,
    env: { ...process.env, ...testEnv() },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const lines = stdout
    .trim()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
  return { exitCode: await proc.exited, lines, stderr };
}

describe.skipIf(!shared)("bun run coupons:reconcile", () => {
  it("reports drift between Redis and PostgreSQL, repairs it with --repair, and then finds none", async () => {
    const t = await createTestApp();
    const raw = new Redis(services.redisUrl as string);
    try {
      const seller = await t.registerUser("SELLER");
      const [drifting, clean] = [await createCoupon(t, seller.token), await createCoupon(t, seller.token)];
      const buyers = await cheapBuyers(t.container.database, t.container.services.tokens, 4);
      for (const buyer of buyers.slice(0, 3)) {
        const res = await t.post("/api/v1/coupons/issue/limited", { couponId: drifting.id, userId: buyer.id }, buyer);
        expect(res.status).toBe(201);
      }
      const res = await t.post(
        "/api/v1/coupons/issue/limited",
        { couponId: clean.id, userId: buyers[3]!.id },
        buyers[3],
      );
      expect(res.status).toBe(201);
      // Drift: the state lost a holder, and holds a claim from long ago that PostgreSQL never saw.
      const holders = `${services.redisKeyPrefix}${couponKeys(drifting.id).holders}`;
      await raw.zrem(holders, buyers[0]!.id);
      await raw.zadd(holders, 1_000, Bun.randomUUIDv7());

      const found = await reconcile();
      expect(found.exitCode).toBe(1);
      const drift = found.lines.find((line) => line.couponId === drifting.id);
      expect(drift).toMatchObject({
        drifted: true,
        repaired: false,
        issuedQuantity: 3,
        stateHolders: 3,
        missingHolders: 1,
        missingHolderIds: [buyers[0]!.id],
        orphanedClaims: 1,
        definitionDiffers: false,
      });
      expect(found.lines.find((line) => line.couponId === clean.id)).toMatchObject({ drifted: false });
      expect(found.lines.at(-1).summary).toMatchObject({ drifted: 1, repaired: 0, repair: false });

      const repaired = await reconcile("--repair");
      expect(repaired.exitCode).toBe(0);
      expect(repaired.lines.find((line) => line.couponId === drifting.id)).toMatchObject({
        drifted: true,
        repaired: true,
      });

      const after = await reconcile("--coupon", drifting.id);
      expect(after.exitCode).toBe(0);
      expect(after.lines).toHaveLength(2);
      expect(after.lines[0]).toMatchObject({ couponId: drifting.id, drifted: false, stateHolders: 3 });
      const state = await claimsOf(t).inspect(drifting.id);
      expect([...(state?.holders.keys() ?? [])].sort()).toEqual(
        buyers
          .slice(0, 3)
          .map((b) => b.id)
          .sort(),
      );
    } finally {
      raw.disconnect();
      await t.close();
    }
  });

  it("does not count a state already marked for rebuilding as drift: the next claim rebuilds it", async () => {
    const t = await createTestApp();
    const raw = new Redis(services.redisUrl as string);
    try {
      const seller = await t.registerUser("SELLER");
      const coupon = await createCoupon(t, seller.token);
      const [buyer] = await cheapBuyers(t.container.database, t.container.services.tokens, 1);
      const claimed = await t.post("/api/v1/coupons/issue/limited", { couponId: coupon.id, userId: buyer!.id }, buyer);
      expect(claimed.status).toBe(201);
      // What a PostgreSQL refusal leaves: a state that differs, already marked stale.
      await raw.hset(`${services.redisKeyPrefix}${couponKeys(coupon.id).state}`, "stale", "1", "suspended", "1");

      const found = await reconcile("--coupon", coupon.id);
      expect(found.lines[0]).toMatchObject({ couponId: coupon.id, stale: true, drifted: false, repaired: false });
      expect(found.lines.at(-1).summary).toMatchObject({ drifted: 0 });
      expect(found.exitCode).toBe(0);
    } finally {
      raw.disconnect();
      await t.close();
    }
  });

  it("says there is nothing to reconcile without Redis", async () => {
    const proc = Bun.spawn(["bun", "run", "coupons:reconcile"], {
      cwd: root,
      env: { ...process.env, ...testEnv(), REDIS_URL: "" },
      stdout: "pipe",
    });
    expect(await proc.exited).toBe(0);
    expect(await new Response(proc.stdout).text()).toContain("nothing to reconcile");
  });
});

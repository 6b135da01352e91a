import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { claimsOf, createCoupon } from "../support/coupons";
import { createTestApp, hasRedis, type TestApp } from "../support/harness";
import { freePort } from "../support/processes";
import { startRedisServer } from "../support/redis-server";
import { type CheapUser, cheapBuyers } from "../support/users";
import { waitFor } from "../support/wait";

// It starts and restarts a Redis server of its own: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(60_000);

// A Redis server of this test's own (the shared one serves other runs), with an RDB file: killed with -9 and
// started again, it comes back with the state as it was at its last save, older than what PostgreSQL says.
const dir = mkdtempSync(join(tmpdir(), "kicks-redis-restart-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A limited claim, retried while the app reconnects to Redis (503 with Retry-After). */
async function claim(t: TestApp, couponId: string, user: CheapUser) {
  let res = await t.post("/api/v1/coupons/issue/limited", { couponId, userId: user.id }, { token: user.token });
  for (let i = 0; res.status === 503 && i < 100; i++) {
    await Bun.sleep(100);
    res = await t.post("/api/v1/coupons/issue/limited", { couponId, userId: user.id }, { token: user.token });
  }
  return res;
}

describe.skipIf(!hasRedis || !Bun.which("redis-server"))("a Redis restarted from an old save", () => {
  it("keeps a resumed coupon claimable: the restored suspended state is caught up by PostgreSQL's version", async () => {
    const port = freePort();
    let redis = await startRedisServer(port, { dir });
    const t = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    const admin = new Redis(port, "127.0.0.1");
    try {
      const seller = await t.registerUser("SELLER");
      const coupon = await createCoupon(t, seller.token, { totalQuantity: 3 });
      const [first, second, third] = await cheapBuyers(t.container.database, t.container.services.tokens, 3);
      expect((await claim(t, coupon.id, first!)).status).toBe(201);
      expect((await t.post(`/api/v1/coupons/${coupon.id}/suspend`, undefined, seller)).status).toBe(200);
      await admin.save(); // the last save: suspended, version 1
      expect((await t.post(`/api/v1/coupons/${coupon.id}/resume`, undefined, seller)).status).toBe(200);

      admin.disconnect();
      redis.kill("SIGKILL");
      await redis.exited;
      redis = await startRedisServer(port, { dir });
      // The app's claim connection reconnects by itself (503 meanwhile).
      const restored = await waitFor("the app to reconnect to Redis", () =>
        claimsOf(t)
          .inspect(coupon.id)
          .catch(() => undefined),
      );
      expect(restored).toMatchObject({ suspended: true, version: 1 });

      expect((await claim(t, coupon.id, second!)).status).toBe(201);
      expect(await claimsOf(t).inspect(coupon.id)).toMatchObject({ suspended: false, version: 2 });
      expect((await claim(t, coupon.id, third!)).status).toBe(201);
      expect((await claim(t, coupon.id, first!)).body.code).toBe("COUPON_ALREADY_ISSUED");
    } finally {
      admin.disconnect();
      await t.close();
      redis.kill("SIGKILL");
      await redis.exited;
    }
  });
});

import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCoupon } from "../support/coupons";
import { createTestApp, hasRedis, type TestApp } from "../support/harness";
import { freePort } from "../support/processes";
import { startRedisServer } from "../support/redis-server";
import { type CheapUser, cheapBuyers } from "../support/users";

// It starts and restarts a Redis server: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(60_000);

// A Redis server of this test's own (the shared one serves other engineers' runs): started, stopped and
// started again on the same port, without persistence, as a crashed Redis would come back.
const dir = mkdtempSync(join(tmpdir(), "kicks-redis-outage-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function claim(t: TestApp, couponId: string, user: CheapUser) {
  return t.post("/api/v1/coupons/issue/limited", { couponId, userId: user.id }, { token: user.token });
}

describe.skipIf(!hasRedis || !Bun.which("redis-server"))("the limited path while Redis is down", () => {
  it("answers 503 with Retry-After without over-issuing, and works again by itself once Redis is back", async () => {
    const port = freePort();
    let redis = await startRedisServer(port, { dir });
    const t = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    try {
      const seller = await t.registerUser("SELLER");
      const coupon = await createCoupon(t, seller.token, { totalQuantity: 2 });
      const [early, waiting, third] = (await cheapBuyers(t.container.database, t.container.services.tokens, 3)) as [
        CheapUser,
        CheapUser,
        CheapUser,
      ];
      expect((await claim(t, coupon.id, early)).status).toBe(201);

      redis.kill("SIGKILL");
      await redis.exited;
      const started = performance.now();
      const down = await claim(t, coupon.id, waiting);
      expect(down.status).toBe(503);
      expect(down.body.code).toBe("UNAVAILABLE");
      expect(Number(down.headers.get("Retry-After"))).toBeGreaterThan(0);
      // Fails fast: no queueing until ioredis gives up.
      expect(performance.now() - started).toBeLessThan(2500);
      expect((await t.get(`/api/v1/coupons/${coupon.id}`, seller)).body.issuedQuantity).toBe(1);

      // Back on the same port, empty (no persistence): the state is rebuilt from PostgreSQL.
      redis = await startRedisServer(port, { dir });
      let back = await claim(t, coupon.id, waiting);
      for (let i = 0; back.status === 503 && i < 100; i++) {
        await Bun.sleep(100);
        back = await claim(t, coupon.id, waiting);
      }
      expect(back.status).toBe(201);
      expect((await claim(t, coupon.id, early)).body.code).toBe("COUPON_ALREADY_ISSUED");
      expect((await claim(t, coupon.id, third)).body.code).toBe("COUPON_SOLD_OUT");
      expect((await t.get(`/api/v1/coupons/${coupon.id}`, seller)).body).toMatchObject({
        issuedQuantity: 2,
        status: "EXHAUSTED",
      });
    } finally {
      await t.close();
      redis.kill("SIGKILL");
      await redis.exited;
    }
  });
});

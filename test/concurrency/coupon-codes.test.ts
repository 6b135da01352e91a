import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { eq } from "drizzle-orm";
import { userCoupons } from "../../src/infra/db/schema";
import { createCoupon } from "../support/coupons";
import { createTestApp } from "../support/harness";
import { type CheapUser, cheapBuyers } from "../support/users";

// Hundreds of parallel claims: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(60_000);

// Real sockets, two app instances over the same database and Redis (or the embedded twins, one instance).
const t = await createTestApp();
const servers = [Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: t.app.fetch })];
const second = globalThis.kicksTest.services.redisUrl ? await createTestApp() : undefined;
if (second) servers.push(Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: second.app.fetch }));
afterAll(async () => {
  for (const server of servers) await server.stop(true);
  await second?.close();
  await t.close();
});

const seller = await t.registerUser("SELLER");

async function claim(path: string, body: Record<string, string>, user: CheapUser, i: number) {
  const server = servers[i % servers.length]!;
  const res = await fetch(`http://127.0.0.1:${server.port}/api/v1/coupons/${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ ...body, userId: user.id }),
  });
  const answer = (await res.json()) as { code?: string };
  return { status: res.status, code: answer.code };
}

const holders = async (couponId: string) =>
  (
    await t.container.database.db
      .select({ userId: userCoupons.userId })
      .from(userCoupons)
      .where(eq(userCoupons.couponId, couponId))
  ).map((row) => row.userId);

describe("claims by code under concurrency", () => {
  for (const path of ["issue", "issue/limited"]) {
    it(`issues exactly the total when 150 users race by code (any case) and by id on /${path}`, async () => {
      const coupon = await createCoupon(t, seller.token, { totalQuantity: 40 });
      const users = await cheapBuyers(t.container.database, t.container.services.tokens, 150);
      const bodies: Record<string, string>[] = [
        { code: coupon.code.toUpperCase() },
        { code: coupon.code.toLowerCase() },
        { couponId: coupon.id },
      ];
      // Every user also claims a second time, by the other name, at the same moment: one of the two may win.
      const results = await Promise.all(
        users.flatMap((user, i) => [
          claim(path, bodies[i % 3]!, user, i),
          claim(path, bodies[(i + 1) % 3]!, user, i + 1),
        ]),
      );
      const won = results.filter((r) => r.status === 201).length;
      const soldOut = results.filter((r) => r.status === 409 && r.code === "COUPON_SOLD_OUT").length;
      const already = results.filter((r) => r.status === 409 && r.code === "COUPON_ALREADY_ISSUED").length;
      expect({ won, rest: soldOut + already }).toEqual({ won: 40, rest: 260 });
      const held = await holders(coupon.id);
      expect(held).toHaveLength(40);
      expect(new Set(held).size).toBe(40);
      const read = (await t.get(`/api/v1/coupons/code/${coupon.code}`, seller)).body;
      expect(read).toMatchObject({ issuedQuantity: 40, remainingQuantity: 0, status: "EXHAUSTED" });
    });
  }
});

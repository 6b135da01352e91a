import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { userCoupons } from "../../src/infra/db/schema";
import { createCoupon } from "../support/coupons";
import { createTestApp, hasRedis, testEnv } from "../support/harness";
import { freePort } from "../support/processes";
import { cheapBuyers } from "../support/users";

// Three server processes and 2,000 claims: far more than plain `bun test`'s 5 s.
setDefaultTimeout(180_000);

// The drop as production runs it: three server processes (`bun src/index.ts`) sharing this run's
// PostgreSQL database and Redis prefix, 2,000 distinct buyers claiming a 100-unit coupon at once.
const { services } = globalThis.kicksTest;
const shared = hasRedis && Boolean(services.databaseUrl);
const root = join(import.meta.dir, "../..");
const SERVERS = 3;
const BUYERS = 2000;
const UNITS = 100;
/** Requests in flight at once, spread over the servers: enough to contend, few enough for a shared machine. */
const IN_FLIGHT = 150;

function startServer() {
  const port = freePort();
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^ADMIN_/.test(name)));
  const proc = Bun.spawn(["bun", "src/index.ts"], {
    cwd: root,
    env: { ...inherited, ...testEnv({ PORT: String(port), LOG_LEVEL: "error" }) },
    stdout: "ignore",
    stderr: "pipe",
  });
  return { base: `http://127.0.0.1:${port}`, proc };
}

async function waitHealthy({ base, proc }: ReturnType<typeof startServer>) {
  for (let i = 0; i < 600 && proc.exitCode === null; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {}
    await Bun.sleep(100);
  }
  throw new Error(`server ${base} not ready (exit ${proc.exitCode}): ${await new Response(proc.stderr).text()}`);
}

const servers = shared ? Array.from({ length: SERVERS }, startServer) : [];
afterAll(async () => {
  for (const { proc } of servers) proc.kill("SIGTERM");
  await Promise.all(servers.map(({ proc }) => proc.exited));
});

describe.skipIf(!shared)("a drop across three server processes", () => {
  it(`issues exactly ${UNITS} of ${UNITS} units to ${UNITS} different buyers out of ${BUYERS}`, async () => {
    await Promise.all(servers.map(waitHealthy));
    const t = await createTestApp();
    try {
      const seller = await t.registerUser("SELLER");
      const coupon = await createCoupon(t, seller.token, { totalQuantity: UNITS });
      const buyers = await cheapBuyers(t.container.database, t.container.services.tokens, BUYERS);

      const results: { status: number; code?: string; userId: string; server: number }[] = [];
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < buyers.length; i = next++) {
          const buyer = buyers[i]!;
          const server = i % SERVERS;
          const res = await fetch(`${servers[server]!.base}/api/v1/coupons/issue/limited`, {
            method: "POST",
            headers: { Authorization: `Bearer ${buyer.token}`, "Content-Type": "application/json" },
            body: JSON.stringify({ couponId: coupon.id, userId: buyer.id }),
          });
          const body = (await res.json()) as { code?: string };
          results.push({ status: res.status, code: body.code, userId: buyer.id, server });
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

      expect(results).toHaveLength(BUYERS);
      const winners = results.filter((r) => r.status === 201);
      expect(winners).toHaveLength(UNITS);
      expect(results.filter((r) => r.status === 409 && r.code === "COUPON_SOLD_OUT")).toHaveLength(BUYERS - UNITS);
      // Every server took its share of the load.
      for (let server = 0; server < SERVERS; server++) {
        expect(results.filter((r) => r.server === server).length).toBeGreaterThan(BUYERS / SERVERS - 1);
      }

      const holders = (
        await t.container.database.db
          .select({ userId: userCoupons.userId })
          .from(userCoupons)
          .where(eq(userCoupons.couponId, coupon.id))
      ).map((row) => row.userId);
      expect(holders).toHaveLength(UNITS);
      expect(new Set(holders).size).toBe(UNITS);
      expect(holders.sort()).toEqual(winners.map((w) => w.userId).sort());
      const read = await t.get(`/api/v1/coupons/${coupon.id}`, seller);
      expect(read.body).toMatchObject({ issuedQuantity: UNITS, remainingQuantity: 0, status: "EXHAUSTED" });
    } finally {
      await t.close();
    }
  });
});

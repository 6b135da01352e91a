import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { UNFINISHED_REFUND_STATUSES } from "../../src/domain/refunds/refund-status";
import { seededRandom } from "../../src/domain/shared/seeded-random";
import { openDatabase } from "../../src/infra/db/client";
import { checkInvariants } from "../../src/infra/db/invariants";
import { couponBody } from "../support/coupons";
import { type Sink, startSink } from "../support/event-sink";
import { freshPostgresDatabase, hasPostgres, hasRedis, testEnv } from "../support/harness";
import { type HostileGateway, startHostileGateway } from "../support/hostile-gateway";
import { FAST_RELAY_ENV } from "../support/outbox";
import { finished, freePort } from "../support/processes";
import { startRedisServer, stopProcess } from "../support/redis-server";
import { cheapBuyers } from "../support/users";
import { waitFor } from "../support/wait";

// The crash hammer: three server processes on one PostgreSQL database and one Redis (a server of the test's
// own, so it can be stopped), a gateway that declines, holds charges in transit and answers late, a data
// platform that is down for a while, and mixed traffic from buyers, a seller and an admin through all three
// processes — keyed requests retried with the same key on another process. Midway one process is killed
// with SIGKILL and started again, every database connection is terminated once, and Redis is stopped and
// started again (empty: it keeps nothing on disk). Then the jobs settle, and the books must be exact.
// `HAMMER_SEED` replays one run's choices (the timing of the faults still differs).
setDefaultTimeout(240_000);

const { migrationsDir } = globalThis.kicksTest;
const root = join(import.meta.dir, "../..");
const SEED = Number(process.env.HAMMER_SEED ?? Math.floor(Math.random() * 2 ** 31));
const random = seededRandom(SEED).next;
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (p: number) => random() < p;

const SERVERS = 3;
const BUYERS = 48;
const TRAFFIC_MS = 20_000;
const LIMITED_UNITS = 30;
const PRICE = 100_000;

interface Server {
  port: number;
  base: string;
  proc: Bun.Subprocess;
}

interface Answer {
  status: number;
  body: any;
  replayed: boolean;
  /** Seconds the server asked the client to wait before asking again (the answer is not final). */
  retryAfter?: number;
}

// Part of the default run (about 90 s); `bun run hammer` runs it alone, e.g. again and again with HAMMER_SEED.
describe.skipIf(!(hasPostgres && hasRedis))("the crash hammer", () => {
  const cleanups: (() => unknown)[] = [];
  const figures: Record<string, unknown> = { seed: SEED };
  let countRows: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await countRows?.().catch(() => {});
    const answers = figures.answers as Map<string, number> | undefined;
    if (answers) figures.answers = Object.fromEntries([...answers].sort(([, a], [, b]) => b - a));
    console.log(`crash hammer figures ${JSON.stringify(figures)}`);
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("keeps the books exact through kill -9, terminated connections, a Redis restart and a bad gateway", async () => {
    console.log(`crash hammer seed ${SEED} (HAMMER_SEED=${SEED} replays its choices)`);
    const databaseUrl = await freshPostgresDatabase();
    const database = openDatabase({ url: databaseUrl, poolSize: 4, migrationsDir });
    await database.migrate();
    cleanups.push(() => database.close());
    const pg = postgres(databaseUrl, { max: 2, onnotice: () => {} });
    cleanups.push(() => pg.end());

    // --- the world outside: Redis of our own, the gateway, the data platform ---
    const redisPort = freePort();
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    let redis = await startRedisServer(redisPort);
    cleanups.push(() => stopProcess(redis));

    const gateway: HostileGateway = startHostileGateway({ random, transitMs: 1200 });
    cleanups.push(() => gateway.stop());
    let platformDown = false;
    const accepted = new Set<string>();
    const sink: Sink = startSink((receipt) => {
      if (platformDown) return 503;
      accepted.add(receipt.body.id);
      return 200;
    });
    cleanups.push(() => sink.stop());

    const env = testEnv({
      ...FAST_RELAY_ENV,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      PAYMENT_GATEWAY_URL: gateway.url,
      PAYMENT_GATEWAY_TIMEOUT_MS: "500",
      DATA_PLATFORM_URL: sink.url,
      OUTBOX_MAX_ATTEMPTS: "40",
      RETRY_BASE_DELAY_MS: "50",
      DATABASE_POOL_SIZE: "6",
      LOG_LEVEL: "error",
    });
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^ADMIN_/.test(name)));
    // Each process logs (warn and up) to a file of its own, named in the figures, for a failure to be read.
    const logs: string[] = [];
    figures.logs = logs;
    const startServer = (port: number): Server => {
      const log = join(tmpdir(), `kicks-hammer-${SEED}-${port}-${logs.length}.log`);
      logs.push(log);
      return {
        port,
        base: `http://127.0.0.1:${port}`,
        proc: Bun.spawn(["bun", "src/index.ts"], {
          cwd: root,
          env: { ...inherited, ...env, PORT: String(port), LOG_LEVEL: "warn" },
          stdout: Bun.file(log),
          stderr: Bun.file(`${log}.stderr`),
        }),
      };
    };
    const servers = Array.from({ length: SERVERS }, () => startServer(freePort()));
    cleanups.push(() => Promise.all(servers.map((server) => stopProcess(server.proc))));
    await Promise.all(servers.map(waitReady));

    // --- the shop: an admin, a seller, products, two coupons, buyers with money ---
    const { buildContainer } = await import("../../src/container");
    const { loadConfig } = await import("../../src/infra/config");
    const { createLogger } = await import("../../src/infra/logger");
    const config = loadConfig(env);
    const container = buildContainer(config, createLogger("silent"), { database });
    const tokens = container.services.tokens;

    const call = async (method: string, path: string, body: unknown, token: string, key?: string, at?: number) => {
      const server = servers[at ?? Math.floor(random() * SERVERS)]!;
      const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (key) headers["Idempotency-Key"] = key;
      try {
        const res = await fetch(`${server.base}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        let parsed: any = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {}
        tally(res.status, res.status >= 400 ? parsed?.code : undefined);
        const retryAfter = res.headers.get("Retry-After");
        return {
          status: res.status,
          body: parsed,
          replayed: res.headers.get("Idempotent-Replayed") === "true",
          retryAfter: retryAfter === null ? undefined : Number(retryAfter),
        };
      } catch {
        tally(0);
        // A process that is down refuses at once: a client waits a little before its next request.
        await Bun.sleep(100);
        return { status: 0, body: undefined, replayed: false } satisfies Answer;
      }
    };
    const statuses = new Map<string, number>();
    const tally = (status: number, code?: string) => {
      const label = status === 0 ? "no answer" : `${status}${code ? ` ${code}` : ""}`;
      statuses.set(label, (statuses.get(label) ?? 0) + 1);
    };

    const [admin, seller] = await Promise.all([
      container.services.users.createAccount({
        email: `hammer-admin-${SEED}@test.kicks`,
        password: "hammer-admin-password-1",
        name: "Hammer admin",
        role: "ADMIN",
      }),
      container.services.users.createAccount({
        email: `hammer-seller-${SEED}@test.kicks`,
        password: "hammer-seller-password-1",
        name: "Hammer seller",
        role: "SELLER",
        businessRegistrationNumber: "124-81-00998",
      }),
    ]);
    const adminToken = (await tokens.issue({ userId: admin.id, role: "ADMIN" })).accessToken;
    const sellerToken = (await tokens.issue({ userId: seller.id, role: "SELLER" })).accessToken;
    const product = async (stock: number) => {
      const res = await call(
        "POST",
        "/api/v1/products",
        {
          name: `Hammer ${stock} ${crypto.randomUUID().slice(0, 6)}`,
          brand: "Kicks",
          category: "hammer",
          price: PRICE,
          stock,
        },
        sellerToken,
        undefined,
        0,
      );
      if (res.status !== 201) throw new Error(`product: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    };
    const hot = await product(120);
    const spread = await Promise.all(Array.from({ length: 12 }, () => product(15)));
    const couponOf = async (overrides: Record<string, unknown>) => {
      const res = await call("POST", "/api/v1/coupons", couponBody(overrides), sellerToken, undefined, 0);
      if (res.status !== 201) throw new Error(`coupon: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    };
    const limited = await couponOf({
      totalQuantity: LIMITED_UNITS,
      type: "FIXED",
      discountValue: 30_000,
      maxDiscountAmount: null,
    });
    // Pays a whole pair: orders with this coupon total 0 and must cancel and refund like any other.
    const wholePair = await couponOf({
      totalQuantity: 15,
      type: "FIXED",
      discountValue: PRICE * 3,
      maxDiscountAmount: null,
    });
    const buyers = await cheapBuyers(database, tokens, BUYERS);
    for (const buyer of buyers) {
      const res = await call("POST", "/api/v1/balances/charge", { userId: buyer.id, amount: 3_000_000 }, adminToken);
      if (res.status !== 200)
        await call(
          "POST",
          "/api/v1/balances/charge",
          { userId: buyer.id, amount: 3_000_000 },
          adminToken,
          undefined,
          0,
        );
    }

    // --- keyed requests: the same key is sent again, on another process, until it has an answer ---
    const effects = new Map<string, Set<string>>();
    const interrupted: { key: string; method: string; path: string; body: unknown; token: string }[] = [];
    const keyed = async (method: string, path: string, body: unknown, token: string): Promise<Answer> => {
      const key = `hammer-${crypto.randomUUID()}`;
      let answer = await call(method, path, body, token, key);
      // Whether `answer` is one the key keeps (so every later 2xx must be its replay). Not an answer with Retry-After
      // (a payment whose gateway outcome is not known yet, 202: provisional by contract, and the next retry settles it),
      // nor when a retry ran again and found its refund still on its way: that answer is provisional, not stored
      // (contract; RefundService.request), and the next retry finds the same refund further along. One payment and
      // one refund per key are checked by `record` all the same.
      const provisional = (a: Answer) => a.retryAfter !== undefined;
      let kept = !provisional(answer);
      // Half the keyed requests that got an answer are sent again elsewhere, as a client whose answer was lost.
      for (let tries = 0; tries < 3 && (answer.status === 0 || answer.status >= 500 || chance(0.3)); tries++) {
        await Bun.sleep(50 + random() * 200);
        const again = await call(method, path, body, token, key);
        if (kept && answer.status >= 200 && answer.status < 300 && again.status >= 200 && again.status < 300) {
          // Which request and answers, so a failure says where to look (a second 2xx not replayed is a second effect).
          expect({ method, path, first: answer.status, again: again.status, replayed: again.replayed }).toEqual({
            method,
            path,
            first: answer.status,
            again: again.status,
            replayed: true,
          });
        }
        if (again.status !== 409 || again.body?.code !== "IDEMPOTENCY_KEY_IN_USE") {
          kept =
            again.replayed ||
            !(
              provisional(again) ||
              (path === "/api/v1/refunds" && UNFINISHED_REFUND_STATUSES.includes(again.body?.status as never))
            );
          answer = again;
        }
      }
      if (answer.status === 0 || answer.status >= 500 || answer.body?.code === "IDEMPOTENCY_KEY_IN_USE") {
        interrupted.push({ key, method, path, body, token });
      }
      record(key, answer);
      return answer;
    };
    const record = (key: string, answer: Answer) => {
      if (answer.status < 200 || answer.status >= 300) return;
      const id = answer.body?.id ?? answer.body?.paymentId;
      if (!id) return;
      const seen = effects.get(key) ?? new Set<string>();
      seen.add(id);
      effects.set(key, seen);
    };
    const maybeKeyed = (method: string, path: string, body: unknown, token: string) =>
      chance(0.5) ? keyed(method, path, body, token) : call(method, path, body, token);

    countRows = async () => {
      const [counts] = await pg`
        select (select count(*)::int from orders) as orders,
               (select count(*)::int from orders where status = 'CANCELLED') as cancelled,
               (select count(*)::int from orders where total_amount = 0) as "zeroTotal",
               (select count(*)::int from payments where status = 'COMPLETED') as "paymentsCompleted",
               (select count(*)::int from payments where status = 'FAILED') as "paymentsFailed",
               (select count(*)::int from refunds where status = 'REFUNDED') as refunded,
               (select count(*)::int from refunds where status = 'MANUAL') as manual,
               (select count(*)::int from user_coupons) as "couponsHeld",
               (select count(*)::int from order_events) + (select count(*)::int from coupon_events) as events`;
      Object.assign(figures, counts, {
        deliveries: sink.receipts.length,
        keyedRequests: effects.size,
      });
    };

    // --- the traffic ---
    const pending: string[] = [];
    const heldCoupons = new Map<string, string[]>();
    const trafficEnd = Date.now() + TRAFFIC_MS;
    const claim = async (buyer: { id: string; token: string }) => {
      const limitedClaim = chance(0.7);
      const res = await maybeKeyed(
        "POST",
        limitedClaim ? "/api/v1/coupons/issue/limited" : "/api/v1/coupons/issue",
        { couponId: limitedClaim ? limited : wholePair, userId: buyer.id },
        buyer.token,
      );
      if (res.status === 201) heldCoupons.set(buyer.id, [...(heldCoupons.get(buyer.id) ?? []), res.body.id]);
    };
    const shop = async (buyer: { id: string; token: string }) => {
      const held = heldCoupons.get(buyer.id) ?? [];
      const userCouponId = held.length > 0 && chance(0.6) ? held.shift() : undefined;
      const order = await maybeKeyed(
        "POST",
        "/api/v1/orders",
        {
          userId: buyer.id,
          items: [{ productId: chance(0.5) ? hot : pick(spread), quantity: chance(0.2) ? 2 : 1 }],
          ...(userCouponId ? { userCouponId } : {}),
        },
        buyer.token,
      );
      if (order.status !== 201) return;
      const orderId = order.body.id as string;
      const paid = await maybeKeyed("POST", "/api/v1/payments/process", { orderId }, buyer.token);
      if (paid.status === 202) {
        // Asked at once, while the charge may still be on its way to the gateway.
        if (chance(0.5)) await call("POST", "/api/v1/payments/confirm", { paymentId: paid.body.id }, buyer.token);
        pending.push(paid.body.id);
      }
      if (paid.status !== 200) {
        if (chance(0.3)) await call("PUT", `/api/v1/orders/${orderId}/cancel`, undefined, buyer.token);
        return;
      }
      const roll = random();
      const total = order.body.totalAmount as number;
      if (roll < 0.2) {
        await call("PUT", `/api/v1/orders/${orderId}/cancel`, undefined, buyer.token);
      } else if (roll < 0.35 && total >= 3) {
        await keyed("POST", "/api/v1/refunds", { orderId, amount: Math.floor(total / 3), reason: "part" }, buyer.token);
        if (chance(0.5)) await maybeKeyed("POST", "/api/v1/refunds", { orderId, reason: "the rest" }, buyer.token);
      } else if (roll < 0.5) {
        await keyed("POST", "/api/v1/refunds", { orderId, reason: "changed my mind" }, buyer.token);
      } else if (roll < 0.6) {
        // A cancel and a refund of the same order race on two processes.
        await Promise.all([
          call("PUT", `/api/v1/orders/${orderId}/cancel`, undefined, buyer.token),
          keyed("POST", "/api/v1/refunds", { orderId, reason: "race" }, buyer.token),
        ]);
      }
    };
    const buyerLoop = async (buyer: { id: string; token: string }) => {
      while (Date.now() < trafficEnd) {
        if (chance(0.25)) await claim(buyer);
        else await shop(buyer);
      }
    };
    const operator = async () => {
      while (Date.now() < trafficEnd) {
        await call("POST", `/api/v1/coupons/${limited}/suspend`, undefined, adminToken);
        await Bun.sleep(150 + random() * 300);
        await call("POST", `/api/v1/coupons/${limited}/resume`, undefined, adminToken);
        await Bun.sleep(400 + random() * 800);
      }
    };
    const faults = { killed: 0, terminatedConnections: 0, redisRestarts: 0, startsAgain: 0 };
    figures.faults = faults;
    figures.gateway = gateway.counts;
    figures.answers = statuses;
    // As a process supervisor would: a restarted process that exits while starting (its connections were
    // terminated under it, Redis was away) is started again.
    let supervised: Promise<void> = Promise.resolve();
    const supervise = async (port: number) => {
      for (let starts = 1; starts <= 5; starts++) {
        try {
          await waitReady(servers[1]!);
          return;
        } catch (error) {
          if (servers[1]!.proc.exitCode === null) throw error;
          faults.startsAgain++;
          servers[1] = startServer(port);
        }
      }
    };
    const chaos = async () => {
      await Bun.sleep(2_000);
      platformDown = true;
      await Bun.sleep(3_000);
      const victim = servers[1]!;
      victim.proc.kill("SIGKILL");
      await victim.proc.exited;
      faults.killed++;
      await Bun.sleep(1_000);
      servers[1] = startServer(victim.port);
      supervised = supervise(victim.port);
      platformDown = false;
      await Bun.sleep(3_000);
      const [terminated] = await pg<{ count: number }[]>`
        select count(pg_terminate_backend(pid))::int as count from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()`;
      faults.terminatedConnections = terminated?.count ?? 0;
      await Bun.sleep(3_000);
      await stopProcess(redis);
      faults.redisRestarts++;
      await Bun.sleep(1_500);
      redis = await startRedisServer(redisPort);
    };
    const startedAt = Date.now();
    await Promise.all([...buyers.map(buyerLoop), operator(), chaos()]);
    await supervised;
    await waitReady(servers[1]!);
    // The operator's last word: the drop is on. Asked again until it is final (a resume may meet Redis away).
    for (let tries = 0; ; tries++) {
      const resumed = await call("POST", `/api/v1/coupons/${limited}/resume`, undefined, adminToken, undefined, 0);
      figures.lastResume = `${resumed.status} ${resumed.body?.code ?? ""}`.trim();
      if (resumed.status === 200 || resumed.body?.code === "INVALID_COUPON_TRANSITION" || tries >= 30) break;
      await Bun.sleep(Math.min(resumed.retryAfter ?? 0.5, 2) * 1000);
    }

    // --- settling: interrupted keyed requests are retried with their key (their lease may still hold them),
    // payments of unknown outcome confirmed, and the jobs given time to finish what is in flight ---
    const stuck = new Map<string, string>();
    await waitFor(
      "every interrupted keyed request to find its answer",
      async () => {
        for (const request of interrupted.splice(0)) {
          const answer = await call(request.method, request.path, request.body, request.token, request.key);
          if (answer.status === 0 || answer.status >= 500 || answer.body?.code === "IDEMPOTENCY_KEY_IN_USE") {
            stuck.set(
              request.key,
              `${request.method} ${request.path} → ${answer.status} ${JSON.stringify(answer.body)}`,
            );
            interrupted.push(request);
          } else {
            record(request.key, answer);
          }
        }
        if (interrupted.length > 0) await Bun.sleep(1_000);
        return interrupted.length === 0;
      },
      100_000,
    ).catch((error) => {
      for (const request of interrupted) console.log(`still without an answer: ${stuck.get(request.key)}`);
      throw error;
    });
    const unsettled = async () => {
      const [row] = await pg`
        select
          (select count(*)::int from payments where status not in ('COMPLETED', 'FAILED')) as payments,
          (select count(*)::int from refunds where status not in ('REFUNDED', 'MANUAL')) as refunds,
          (select count(*)::int from order_events where status <> 'SENT')
            + (select count(*)::int from coupon_events where status <> 'SENT') as events`;
      return row as { payments: number; refunds: number; events: number };
    };
    let left = await unsettled();
    await waitFor(
      "payments, refunds and events to settle",
      async () => {
        for (const paymentId of pending.splice(0)) {
          const res = await call("POST", "/api/v1/payments/confirm", { paymentId }, adminToken);
          if (res.status !== 200) pending.push(paymentId);
        }
        left = await unsettled();
        if (left.payments + left.refunds + left.events > 0) await Bun.sleep(500);
        return left.payments + left.refunds + left.events === 0 && gateway.inTransit === 0;
      },
      90_000,
    ).catch((error) => {
      console.log("unsettled after the wait:", left);
      throw error;
    });

    // --- the books ---
    figures.trafficSeconds = Math.round((Date.now() - startedAt) / 1000);
    const violations = await checkInvariants(database.db);
    expect(violations).toEqual([]);

    // The gateway and we agree: every approved charge is a COMPLETED payment, at most one per order, and every
    // refund the gateway made is one we credited (and no refund we credited is unknown to it).
    const ours = new Map((await pg`select id, order_id, status from payments`).map((row) => [row.id as string, row]));
    const disagreements: string[] = [];
    const approvedPerOrder = new Map<string, number>();
    for (const charge of gateway.charges.values()) {
      if (charge.status !== "APPROVED") continue;
      approvedPerOrder.set(charge.orderId, (approvedPerOrder.get(charge.orderId) ?? 0) + 1);
      const payment = ours.get(charge.paymentId);
      if (payment?.status !== "COMPLETED")
        disagreements.push(`charge ${charge.paymentId} approved, ours ${payment?.status}`);
    }
    for (const [orderId, count] of approvedPerOrder)
      if (count > 1) disagreements.push(`order ${orderId} charged ${count}×`);
    const ourRefunds = await pg`select id, payment_id, amount, status from refunds`;
    for (const refund of ourRefunds) {
      const made = gateway.refunds.get(refund.id);
      if (refund.status === "REFUNDED" && !made && ours.get(refund.payment_id)) {
        // A refund of a zero-total order never asks the gateway.
        const [paidAmount] = await pg<
          { amount: number }[]
        >`select amount from payments where id = ${refund.payment_id}`;
        if ((paidAmount?.amount ?? 0) > 0) disagreements.push(`refund ${refund.id} credited, unknown to the gateway`);
      }
      if (made && refund.status !== "REFUNDED") disagreements.push(`refund ${refund.id} made, ours ${refund.status}`);
    }
    expect(disagreements).toEqual([]);
    // The operators' own tools agree: `bun run invariants` (with Redis: coupon states not behind PostgreSQL)
    // and `bun run reconcile:payments`, which asks the gateway about every payment of the window.
    for (const script of ["src/commands/invariants.ts", "src/commands/reconcile-payments.ts"]) {
      // Not spawnSync: the gateway it asks runs in this process and must keep answering.
      const tool = Bun.spawn(["bun", script], {
        cwd: root,
        env: { ...inherited, ...env, LOG_LEVEL: "silent" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const { stdout, stderr, exitCode } = await finished(tool);
      const output = `${stdout}${stderr}`;
      expect({ script, exitCode, output: exitCode === 0 ? "" : output }).toEqual({
        script,
        exitCode: 0,
        output: "",
      });
    }

    // Money: every balance is its ledger.
    const drifting = await pg`
      select b.user_id from balances b left join balance_ledger l on l.user_id = b.user_id
      group by b.user_id, b.balance having b.balance <> coalesce(sum(l.amount), 0)`;
    expect(drifting.length).toBe(0);
    // No order both paid and cancelled; nothing non-final is left behind.
    const paidAndCancelled = await pg`
      select o.id from orders o join payments p on p.order_id = o.id and p.status = 'COMPLETED'
      where o.status = 'CANCELLED' and o.paid_amount > o.refunded_amount`;
    expect(paidAndCancelled.length).toBe(0);
    expect(await unsettled()).toEqual({ payments: 0, refunds: 0, events: 0 });

    // Stock: never oversold.
    const [stock] = await pg`
      select count(*) filter (where stock < 0 or reserved_stock < 0)::int as negative,
             coalesce(sum(sold_quantity + reserved_stock + stock + awaiting_return + written_off - units_stocked), 0)::int as drift
      from products`;
    expect(stock).toEqual({ negative: 0, drift: 0 });

    // One effect per idempotency key.
    const doubled = [...effects].filter(([, ids]) => ids.size > 1);
    expect(doubled).toEqual([]);

    // Coupons: as many issued as rows, never more than the total — and every free unit can still be claimed.
    const [issued] = await pg<{ counted: number; total: number; rows: number }[]>`
      select c.issued_quantity::int as counted, c.total_quantity::int as total, count(uc.id)::int as rows
      from coupons c left join user_coupons uc on uc.coupon_id = c.id where c.id = ${limited}
      group by c.id`;
    if (!issued) throw new Error("the limited coupon is gone");
    const [lifecycle] = await pg`
      select version, suspended_at is not null as suspended, cancelled_at is not null as cancelled
      from coupons where id = ${limited}`;
    figures.limitedCoupon = lifecycle;
    expect({ suspended: lifecycle?.suspended, cancelled: lifecycle?.cancelled }).toEqual({
      suspended: false,
      cancelled: false,
    });
    expect(issued.counted).toBe(issued.rows);
    expect(issued.rows).toBeLessThanOrEqual(LIMITED_UNITS);
    const latecomers = await cheapBuyers(database, tokens, LIMITED_UNITS - issued.rows + 5);
    // As clients do: an answer with Retry-After is not final, and a lost answer (a connection the kill left
    // stale) is asked again with the same key.
    const claimUntilFinal = async (buyer: { id: string; token: string }) => {
      const key = `late-${buyer.id}`;
      for (let tries = 0; ; tries++) {
        const res = await call(
          "POST",
          "/api/v1/coupons/issue/limited",
          { couponId: limited, userId: buyer.id },
          buyer.token,
          key,
        );
        const again = res.status === 0 || res.retryAfter !== undefined || res.body?.code === "IDEMPOTENCY_KEY_IN_USE";
        if (!again || tries >= 30) return res;
        await Bun.sleep(Math.min(res.retryAfter ?? 0.2, 2) * 1000);
      }
    };
    const late = await Promise.all(latecomers.map(claimUntilFinal));
    const lateAnswers: Record<string, number> = {};
    for (const res of late) {
      const label = `${res.status}${res.status >= 400 ? ` ${res.body?.code}` : ""}`;
      lateAnswers[label] = (lateAnswers[label] ?? 0) + 1;
    }
    const free = LIMITED_UNITS - issued.rows;
    expect(lateAnswers).toEqual(free > 0 ? { "201": free, "409 COUPON_SOLD_OUT": 5 } : { "409 COUPON_SOLD_OUT": 5 });

    // Events: each delivered (by id) at least once, and `attempts` counts the tries the platform saw (a try
    // cut short by the kill may have been counted before its POST left).
    await waitFor("the latecomers' events", async () => (await unsettled()).events === 0);
    const events = [
      ...(await pg`select id, attempts from order_events`),
      ...(await pg`select id, attempts from coupon_events`),
    ];
    const undelivered = events.filter((event) => !accepted.has(event.id));
    expect(undelivered).toEqual([]);
    const miscounted = events.filter((event) => {
      const tries = sink.of(event.id).length;
      return event.attempts < tries || event.attempts > tries + 1;
    });
    expect(miscounted).toEqual([]);

    await container.close();
  });
});

async function waitReady(server: Server) {
  let last = "no answer";
  await waitFor(
    `server ${server.base} to be ready`,
    async () => {
      if (server.proc.exitCode !== null) throw new Error(`server ${server.base} exited (${server.proc.exitCode})`);
      try {
        const res = await fetch(`${server.base}/readyz`);
        last = `${res.status} ${await res.text()}`;
        return res.ok;
      } catch {
        return false;
      }
    },
    60_000,
  ).catch((error) => {
    throw new Error(`${(error as Error).message}; last /readyz: ${last}`);
  });
}

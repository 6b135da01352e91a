import { sql } from "drizzle-orm";
import type Redis from "ioredis";
import { CLAIM_STATE_RETENTION_MS } from "../../../domain/coupons/ports";
import { type Database, rowsOf } from "../../db/client";
import type { Violation } from "../../db/invariants";
import { couponKeys } from "./redis-coupon-claims";

export const STATE_BEHIND_RULE = "a coupon's Redis state is not behind its PostgreSQL version";

/** How long a lifecycle change may take to reach Redis after its commit before the checker calls it lost. */
const DEFAULT_SETTLE_MS = 1_000;
const CHUNK = 500;

interface Behind {
  couponId: string;
  redisVersion: number;
  databaseVersion: number;
}

/**
 * For `bun run invariants`: every coupon whose limited-issue state in Redis is live (built, not marked for a
 * rebuild) yet older than the coupon's lifecycle in PostgreSQL (a suspend, resume or cancel it never got).
 * Such a state answers claims from a lifecycle that is no longer true. A suspect is looked at again after
 * `settleMs`, so a change committed a moment ago and on its way to Redis is not reported.
 */
export async function checkCouponStates(
  deps: { db: Database; redis: Redis },
  options: { couponIds?: string[]; settleMs?: number } = {},
): Promise<Violation[]> {
  let behind = await statesBehind(deps, options.couponIds);
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  if (behind.length > 0 && settleMs > 0) {
    await Bun.sleep(settleMs);
    const again = await statesBehind(
      deps,
      behind.map((suspect) => suspect.couponId),
    );
    behind = again;
  }
  return behind.map((state) => ({ rule: STATE_BEHIND_RULE, detail: JSON.stringify(state) }));
}

async function statesBehind({ db, redis }: { db: Database; redis: Redis }, couponIds?: string[]): Promise<Behind[]> {
  if (couponIds?.length === 0) return [];
  const since = new Date(Date.now() - CLAIM_STATE_RETENTION_MS).toISOString();
  const scope = couponIds === undefined ? sql`true` : sql`id = any(${`{${couponIds.join(",")}}`}::uuid[])`;
  const coupons = rowsOf<{ id: string; version: number }>(
    await db.execute(sql`select id, version from coupons where valid_until > ${since}::timestamptz and ${scope}`),
  );
  const behind: Behind[] = [];
  for (let i = 0; i < coupons.length; i += CHUNK) {
    const chunk = coupons.slice(i, i + CHUNK);
    const pipeline = redis.pipeline();
    for (const coupon of chunk) pipeline.hmget(couponKeys(coupon.id).state, "epoch", "stale", "version");
    const replies = (await pipeline.exec()) ?? [];
    for (const [n, coupon] of chunk.entries()) {
      const [error, fields] = replies[n] ?? [];
      if (error) throw error;
      const [epoch, stale, version] = fields as (string | null)[];
      // No state (or only the version a lifecycle change left for the next build), or one marked for a rebuild.
      if (!epoch || stale === "1") continue;
      if (Number(version) < Number(coupon.version)) {
        behind.push({ couponId: coupon.id, redisVersion: Number(version), databaseVersion: Number(coupon.version) });
      }
    }
  }
  return behind;
}

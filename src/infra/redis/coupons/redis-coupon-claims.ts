import type Redis from "ioredis";
import type { Coupon } from "../../../domain/coupons/coupon";
import {
  CLAIM_STATE_RETENTION_MS,
  type ClaimOutcome,
  type ClaimState,
  type ClaimTicket,
  type CouponClaims,
  type CouponSnapshot,
  type HolderRepair,
  type LoadOutcome,
} from "../../../domain/coupons/ports";
import { DomainError } from "../../../domain/shared/errors";
import { isDependencyUnavailable } from "../../dependency-errors";
import claimCoupon from "./claim-coupon.lua" with { type: "text" };
import loadCouponState from "./load-coupon-state.lua" with { type: "text" };
import recordCouponHolder from "./record-coupon-holder.lua" with { type: "text" };
import releaseCouponClaim from "./release-coupon-claim.lua" with { type: "text" };
import repairCouponHolders from "./repair-coupon-holders.lua" with { type: "text" };
import updateCouponLifecycle from "./update-coupon-lifecycle.lua" with { type: "text" };

/** Every key of one coupon carries the hash tag `{coupon:<id>}`: on Redis Cluster they share a slot. */
export function couponKeys(couponId: string) {
  const tag = `{coupon:${couponId}}`;
  return {
    state: `${tag}:state`,
    holders: `${tag}:holders`,
    staging: (epoch: string) => `${tag}:staging:${epoch}`,
  };
}

/** Written with every state, so an evicted or lost holders set is not mistaken for "nobody holds one". */
export const HOLDERS_SENTINEL = "~";
/** A request waits this long for a connection being (re)established before answering 503. */
const READY_WAIT_MS = 1_000;
/**
 * For the connection's `commandTimeout`: no answer within this and the outcome is unknown, the claim
 * possibly orphaned (recovered later).
 */
export const CLAIM_COMMAND_TIMEOUT_MS = 2_000;
const STAGING_TTL_MS = 60_000;
const CHUNK = 1_000;

type Reply = (string | number | null)[] | null;

export const CLAIM_CONNECTION_OPTIONS = {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  commandTimeout: CLAIM_COMMAND_TIMEOUT_MS,
  // A drop's claims arrive together: the ones of one event-loop tick go out in one socket write.
  enableAutoPipelining: true,
} as const;

/** The scripts, loaded once per connection and run by EVALSHA (ioredis `defineCommand`). */
interface CouponScripts {
  claimCoupon(state: string, holders: string, userId: string): Promise<Reply>;
  releaseCouponClaim(
    state: string,
    holders: string,
    userId: string,
    epoch: string,
    claimedAt: number,
    markStale: string,
  ): Promise<number>;
  loadCouponState(state: string, holders: string, staging: string, ...args: (string | number)[]): Promise<number>;
  updateCouponLifecycle(
    state: string,
    version: number,
    suspended: string,
    cancelled: string,
    ttlMs: number,
  ): Promise<number>;
  recordCouponHolder(state: string, holders: string, userId: string): Promise<Reply>;
  repairCouponHolders(state: string, holders: string, ...args: (string | number)[]): Promise<number>;
}

const flag = (on: boolean) => (on ? "1" : "0");

/** A state lives until its coupon's window has ended, and the retention after that. */
const stateTtlMs = (coupon: Coupon) => Math.max(coupon.validUntil.getTime() - Date.now(), 0) + CLAIM_STATE_RETENTION_MS;

const unavailable = (detail: string) => new DomainError("UNAVAILABLE", detail, undefined, { retryAfterSeconds: 2 });

/**
 * The limited-issue state in Redis. Give it a connection of its own made with CLAIM_CONNECTION_OPTIONS: a
 * claim must either be answered or fail, never wait in a queue while Redis is away, nor hang, nor run a
 * second time after a reconnect. (ioredis applies its `keyPrefix` to the KEYS of these scripts, so
 * REDIS_KEY_PREFIX namespaces them like every other key.)
 */
export class RedisCouponClaims implements CouponClaims {
  readonly #redis: Redis & CouponScripts;

  constructor(redis: Redis) {
    const scripts: [keyof CouponScripts, string, number][] = [
      ["claimCoupon", claimCoupon, 2],
      ["releaseCouponClaim", releaseCouponClaim, 2],
      ["loadCouponState", loadCouponState, 3],
      ["updateCouponLifecycle", updateCouponLifecycle, 1],
      ["recordCouponHolder", recordCouponHolder, 2],
      ["repairCouponHolders", repairCouponHolders, 2],
    ];
    for (const [name, lua, numberOfKeys] of scripts) redis.defineCommand(name, { lua, numberOfKeys });
    this.#redis = redis as Redis & CouponScripts;
  }

  async claim(couponId: string, userId: string): Promise<ClaimOutcome> {
    const keys = couponKeys(couponId);
    const reply = await this.#call(() => this.#redis.claimCoupon(keys.state, keys.holders, userId));
    // The third element is the claim time, or why the coupon is not active.
    const [kind, epoch, detail] = (reply ?? []) as [string, string, string | undefined];
    const ticket = (): ClaimTicket => ({ couponId, userId, epoch, claimedAtMs: Number(detail) });
    switch (kind) {
      case "CLAIMED":
        return { kind: "claimed", ticket: ticket() };
      case "ALREADY_ISSUED":
        return { kind: "already_issued", ticket: ticket() };
      case "SOLD_OUT":
        return { kind: "sold_out" };
      case "NOT_ACTIVE":
        return { kind: "not_active", reason: detail === "window" ? "window" : "lifecycle" };
      case "NOT_LOADED":
        return { kind: "not_loaded", epoch: epoch === "" ? null : epoch };
      default:
        throw new Error(`claim-coupon.lua answered ${JSON.stringify(reply)}`);
    }
  }

  async load({ coupon, holderIds }: CouponSnapshot, expectedEpoch: string | null): Promise<LoadOutcome> {
    const keys = couponKeys(coupon.id);
    const epoch = crypto.randomUUID();
    const staging = keys.staging(epoch);
    // Staged in chunks (a drop can have a million holders), then swapped in by one script. The staging key
    // expires by itself if this builder dies half-way.
    for (let i = 0; i < holderIds.length; i += CHUNK) {
      const members = holderIds.slice(i, i + CHUNK).flatMap((id) => [0, id]);
      await this.#call(() =>
        this.#redis
          .multi()
          .zadd(staging, ...members)
          .pexpire(staging, STAGING_TTL_MS)
          .exec(),
      );
    }
    const installed = await this.#call(() =>
      this.#redis.loadCouponState(
        keys.state,
        keys.holders,
        staging,
        expectedEpoch ?? "",
        epoch,
        coupon.totalQuantity,
        coupon.validFrom.getTime(),
        coupon.validUntil.getTime(),
        flag(coupon.suspendedAt !== null),
        flag(coupon.cancelledAt !== null),
        coupon.version,
        stateTtlMs(coupon),
      ),
    );
    return installed === 1 ? "installed" : installed === -1 ? "outdated" : "superseded";
  }

  async release(ticket: ClaimTicket, options: { markStale?: boolean } = {}): Promise<boolean> {
    const keys = couponKeys(ticket.couponId);
    const removed = await this.#call(() =>
      this.#redis.releaseCouponClaim(
        keys.state,
        keys.holders,
        ticket.userId,
        ticket.epoch,
        ticket.claimedAtMs,
        flag(options.markStale ?? false),
      ),
    );
    return removed === 1;
  }

  async updateLifecycle(coupon: Coupon): Promise<boolean> {
    const { state } = couponKeys(coupon.id);
    const applied = await this.#call(() =>
      this.#redis.updateCouponLifecycle(
        state,
        coupon.version,
        flag(coupon.suspendedAt !== null),
        flag(coupon.cancelledAt !== null),
        stateTtlMs(coupon),
      ),
    );
    return applied === 1;
  }

  async recordHolder(couponId: string, userId: string): Promise<ClaimTicket | undefined> {
    const keys = couponKeys(couponId);
    const reply = await this.#call(() => this.#redis.recordCouponHolder(keys.state, keys.holders, userId));
    if (!reply) return undefined;
    const [epoch, claimedAt] = reply as [string, string];
    return { couponId, userId, epoch, claimedAtMs: Number(claimedAt) };
  }

  async inspect(couponId: string): Promise<ClaimState | undefined> {
    const keys = couponKeys(couponId);
    const state = await this.#call(() => this.#redis.hgetall(keys.state));
    if (!state.epoch) return undefined;
    const holders = new Map<string, number>();
    let cursor = "0";
    do {
      const [next, entries] = await this.#call(() => this.#redis.zscan(keys.holders, cursor, "COUNT", CHUNK));
      for (let i = 0; i < entries.length; i += 2) {
        const userId = entries[i] as string;
        if (userId !== HOLDERS_SENTINEL) holders.set(userId, Number(entries[i + 1]));
      }
      cursor = next;
    } while (cursor !== "0");
    return {
      epoch: state.epoch,
      stale: state.stale === "1",
      totalQuantity: Number(state.total),
      validFromMs: Number(state.from),
      validUntilMs: Number(state.until),
      suspended: state.suspended === "1",
      cancelled: state.cancelled === "1",
      version: Number(state.version),
      holders,
    };
  }

  async repair(
    couponId: string,
    epoch: string,
    { add, remove }: HolderRepair,
    options: { markStale?: boolean } = {},
  ): Promise<boolean> {
    const keys = couponKeys(couponId);
    // Chunked so no single script blocks Redis for long; each chunk checks the epoch again.
    const chunks = Math.max(Math.ceil(add.length / CHUNK), Math.ceil(remove.length / CHUNK), 1);
    for (let i = 0; i < chunks; i++) {
      const adds = add.slice(i * CHUNK, (i + 1) * CHUNK);
      const removals = remove.slice(i * CHUNK, (i + 1) * CHUNK).flatMap((c) => [c.userId, c.claimedAtMs]);
      const changed = await this.#call(() =>
        this.#redis.repairCouponHolders(
          keys.state,
          keys.holders,
          epoch,
          flag(options.markStale === true && i === 0),
          adds.length,
          ...adds,
          ...removals,
        ),
      );
      if (changed === -1) return false;
    }
    return true;
  }

  /** Fails fast while Redis is away (no queueing), waits briefly for a connection being made. */
  async #call<T>(command: () => Promise<T>): Promise<T> {
    await this.#ready();
    try {
      return await command();
    } catch (error) {
      const message = String((error as Error).message);
      if (/timed out/i.test(message)) throw unavailable("Redis did not answer in time");
      if (isDependencyUnavailable(error) || /enableOfflineQueue/.test(message)) {
        throw unavailable("Redis is unreachable; retry shortly");
      }
      throw error;
    }
  }

  async #ready(): Promise<void> {
    const redis = this.#redis;
    if (redis.status === "ready") return;
    if (redis.status !== "connecting" && redis.status !== "connect")
      throw unavailable("Redis is unreachable; retry shortly");
    const ready = await new Promise<boolean>((resolve) => {
      const done = (outcome: boolean) => {
        clearTimeout(timer);
        redis.off("ready", onReady);
        redis.off("close", onClose);
        resolve(outcome);
      };
      const onReady = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => done(false), READY_WAIT_MS);
      redis.once("ready", onReady);
      redis.once("close", onClose);
    });
    if (!ready) throw unavailable("Redis is unreachable; retry shortly");
  }
}

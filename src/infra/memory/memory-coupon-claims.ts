import type { Coupon } from "../../domain/coupons/coupon";
import {
  CLAIM_STATE_RETENTION_MS,
  type ClaimOutcome,
  type ClaimState,
  type ClaimTicket,
  type CouponClaims,
  type CouponSnapshot,
  type HolderRepair,
  type LoadOutcome,
} from "../../domain/coupons/ports";

interface MemoryState extends ClaimState {
  expiresAt: number;
}

/** A lifecycle change that found no state, kept for the next build (as update-coupon-lifecycle.lua does). */
interface KeptChange {
  version: number;
  expiresAt: number;
}

/**
 * Single-instance twin of RedisCouponClaims, with the same semantics (see the Lua scripts there): each
 * method runs without awaiting, so within one process it is as atomic as a script.
 */
export class MemoryCouponClaims implements CouponClaims {
  readonly #states = new Map<string, MemoryState>();
  readonly #kept = new Map<string, KeptChange>();

  async claim(couponId: string, userId: string): Promise<ClaimOutcome> {
    const state = this.#state(couponId);
    if (!state) return { kind: "not_loaded", epoch: null };
    if (state.stale) return { kind: "not_loaded", epoch: state.epoch };
    const now = Date.now();
    if (now < state.validFromMs || now >= state.validUntilMs) return { kind: "not_active", reason: "window" };
    if (state.suspended || state.cancelled) return { kind: "not_active", reason: "lifecycle" };
    const claimedAt = state.holders.get(userId);
    if (claimedAt !== undefined) {
      return { kind: "already_issued", ticket: { couponId, userId, epoch: state.epoch, claimedAtMs: claimedAt } };
    }
    if (state.holders.size >= state.totalQuantity) return { kind: "sold_out" };
    state.holders.set(userId, now);
    return { kind: "claimed", ticket: { couponId, userId, epoch: state.epoch, claimedAtMs: now } };
  }

  async load({ coupon, holderIds }: CouponSnapshot, expectedEpoch: string | null): Promise<LoadOutcome> {
    const current = this.#state(coupon.id);
    if ((current?.epoch ?? null) !== expectedEpoch) return "superseded";
    const seen = current?.version ?? this.#keptChange(coupon.id)?.version;
    if (seen !== undefined && seen > coupon.version) return "outdated";
    this.#kept.delete(coupon.id);
    this.#states.set(coupon.id, {
      epoch: crypto.randomUUID(),
      stale: false,
      totalQuantity: coupon.totalQuantity,
      validFromMs: coupon.validFrom.getTime(),
      validUntilMs: coupon.validUntil.getTime(),
      suspended: coupon.suspendedAt !== null,
      cancelled: coupon.cancelledAt !== null,
      version: coupon.version,
      holders: new Map(holderIds.map((id) => [id, 0])),
      expiresAt: Math.max(coupon.validUntil.getTime(), Date.now()) + CLAIM_STATE_RETENTION_MS,
    });
    return "installed";
  }

  async release(ticket: ClaimTicket, options: { markStale?: boolean } = {}): Promise<boolean> {
    const state = this.#state(ticket.couponId);
    if (state?.epoch !== ticket.epoch) return false;
    if (options.markStale) state.stale = true;
    if (state.holders.get(ticket.userId) !== ticket.claimedAtMs) return false;
    return state.holders.delete(ticket.userId);
  }

  async updateLifecycle(coupon: Coupon): Promise<boolean> {
    const state = this.#state(coupon.id);
    if (!state) {
      if ((this.#keptChange(coupon.id)?.version ?? -1) < coupon.version) {
        const expiresAt = Math.max(coupon.validUntil.getTime(), Date.now()) + CLAIM_STATE_RETENTION_MS;
        this.#kept.set(coupon.id, { version: coupon.version, expiresAt });
      }
      return false;
    }
    if (state.version >= coupon.version) return false;
    state.version = coupon.version;
    state.suspended = coupon.suspendedAt !== null;
    state.cancelled = coupon.cancelledAt !== null;
    return true;
  }

  async recordHolder(couponId: string, userId: string): Promise<ClaimTicket | undefined> {
    const state = this.#state(couponId);
    if (!state || state.holders.has(userId)) return undefined;
    const now = Date.now();
    state.holders.set(userId, now);
    return { couponId, userId, epoch: state.epoch, claimedAtMs: now };
  }

  async inspect(couponId: string): Promise<ClaimState | undefined> {
    const state = this.#state(couponId);
    if (!state) return undefined;
    const { expiresAt: _expiresAt, ...copy } = state;
    return { ...copy, holders: new Map(state.holders) };
  }

  async repair(
    couponId: string,
    epoch: string,
    { add, remove }: HolderRepair,
    options: { markStale?: boolean } = {},
  ): Promise<boolean> {
    const state = this.#state(couponId);
    if (state?.epoch !== epoch) return false;
    if (options.markStale) state.stale = true;
    for (const userId of add) if (!state.holders.has(userId)) state.holders.set(userId, 0);
    for (const { userId, claimedAtMs } of remove) {
      if (state.holders.get(userId) === claimedAtMs) state.holders.delete(userId);
    }
    return true;
  }

  #keptChange(couponId: string): KeptChange | undefined {
    const kept = this.#kept.get(couponId);
    if (kept && kept.expiresAt <= Date.now()) {
      this.#kept.delete(couponId);
      return undefined;
    }
    return kept;
  }

  /** The state, unless it has expired (as a Redis key would). */
  #state(couponId: string): MemoryState | undefined {
    const state = this.#states.get(couponId);
    if (state && state.expiresAt <= Date.now()) {
      this.#states.delete(couponId);
      return undefined;
    }
    return state;
  }
}

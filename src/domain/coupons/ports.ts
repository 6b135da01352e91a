import type { Page, PageRequest } from "../shared/paging";
import type { Coupon, HeldCoupon, UserCoupon } from "./coupon";
import type { CouponStatus } from "./coupon-status";
import type { UserCouponStatus } from "./user-coupon-status";

export interface NewCouponRecord {
  id: string;
  code: string;
  name: string;
  issuerId: string;
  type: Coupon["type"];
  discountValue: number;
  maxDiscountAmount: number | null;
  minOrderAmount: number;
  totalQuantity: number;
  validFrom: Date;
  validUntil: Date;
}

export interface Lifecycle {
  suspendedAt: Date | null;
  cancelledAt: Date | null;
}

/** What a limited-issue state is built from: the coupon and every holder, read in one statement. */
export interface CouponSnapshot {
  coupon: Coupon;
  holderIds: string[];
}

/** Which coupons an issuer's (or an admin's) list shows; `status` is the one derived at `now`. */
export interface CouponListFilter {
  issuerId?: string;
  status?: CouponStatus;
  now: Date;
}

export interface CouponRepository {
  /** Throws `COUPON_CODE_TAKEN` when the code exists in any case. */
  insert(coupon: NewCouponRecord): Promise<Coupon>;
  find(id: string): Promise<Coupon | undefined>;
  /** The coupon whose code is `code` in any case (codes are unique case-insensitively). */
  findByCode(code: string): Promise<Coupon | undefined>;
  /** Newest first, with the total of all that match, in one statement. */
  list(filter: CouponListFilter, page: PageRequest): Promise<Page<Coupon>>;
  /** Inside a transaction: the row, locked until it ends (lifecycle changes are decided on it). */
  findForUpdate(id: string): Promise<Coupon | undefined>;
  /** Sets the lifecycle markers and bumps `version`. */
  saveLifecycle(id: string, lifecycle: Lifecycle): Promise<Coupon>;
  /**
   * `UPDATE … SET issued_quantity = issued_quantity + 1 WHERE` units are left, the coupon is neither suspended
   * nor cancelled and `now` is inside its window: the row lock orders concurrent issuers, so it never over-issues.
   * Undefined when the condition does not hold (or there is no such coupon).
   */
  incrementIssued(id: string, now: Date): Promise<Coupon | undefined>;
  /** Inside a transaction: the row, locked, if an issue is possible (the same condition); else undefined. */
  lockIfIssuable(id: string, now: Date): Promise<Coupon | undefined>;
  /** Counts `count` issues on a row this transaction has locked (the CHECK refuses going past the total). */
  addIssued(id: string, count: number): Promise<Coupon>;
  snapshot(id: string): Promise<CouponSnapshot | undefined>;
  /** Coupons whose window ended after `since` (the ones a limited-issue state may still exist for), by id. */
  listIdsValidSince(since: Date, afterId: string | undefined, limit: number): Promise<string[]>;
}

export interface NewUserCoupon {
  id: string;
  couponId: string;
  userId: string;
  issuedAt: Date;
}

/** How a holder's list is filtered; `EXPIRED` and the unused statuses depend on the coupon's window at `now`. */
export interface HeldCouponFilter {
  status?: UserCouponStatus;
  now: Date;
}

export interface UserCouponRepository {
  /** Undefined when the user already holds this coupon (unique coupon + user); `USER_NOT_FOUND` for an unknown user. */
  insert(userCoupon: NewUserCoupon): Promise<UserCoupon | undefined>;
  /** Many at once; those whose user already holds the coupon are skipped. Returns the rows inserted. */
  insertMany(userCoupons: NewUserCoupon[]): Promise<UserCoupon[]>;
  holds(couponId: string, userId: string): Promise<boolean>;
  /** The holder's coupons with each coupon's row, newest first, in one statement (no query per coupon). */
  listHeld(userId: string, filter: HeldCouponFilter, page: PageRequest): Promise<Page<HeldCoupon>>;
  findHeld(id: string): Promise<HeldCoupon | undefined>;
  /** USED, if the machine lets its status move there (`USER_COUPON_MOVES.use`); undefined when it did not. */
  markUsed(id: string, orderId: string, now: Date): Promise<UserCoupon | undefined>;
  /** Gives back the coupons applied to `orderId`: USED → REFUNDED, order and use cleared. Returns those changed. */
  markRefunded(orderId: string, now: Date): Promise<UserCoupon[]>;
}

/** A limited-issue state outlives its coupon's window by this much, then expires by itself. */
export const CLAIM_STATE_RETENTION_MS = 24 * 3600 * 1000;

/**
 * One claim on the limited-issue state: which state it was made in (`epoch`) and when (Redis time, ms), so a
 * compensation removes exactly this claim and never a later one, or one made in a state rebuilt since.
 * `claimedAtMs` 0 means a holder loaded from PostgreSQL.
 */
export interface ClaimTicket {
  couponId: string;
  userId: string;
  epoch: string;
  claimedAtMs: number;
}

export type ClaimOutcome =
  | { kind: "claimed"; ticket: ClaimTicket }
  | { kind: "already_issued"; ticket: ClaimTicket }
  | { kind: "sold_out" }
  /**
   * Closed by the window (Redis time: final, the window never changes) or by the lifecycle the state holds
   * (suspended or cancelled at its `version`: only as true as that version is recent).
   */
  | { kind: "not_active"; reason: "window" | "lifecycle" }
  /** No usable state (never built, lost, or marked stale): build it from PostgreSQL, then claim again. */
  | { kind: "not_loaded"; epoch: string | null };

export type LoadOutcome = "installed" | "superseded" | "outdated";

/** What a limited-issue state holds, for reconciliation with PostgreSQL. */
export interface ClaimState {
  epoch: string;
  stale: boolean;
  totalQuantity: number;
  validFromMs: number;
  validUntilMs: number;
  suspended: boolean;
  cancelled: boolean;
  version: number;
  /** User id → claim time (ms; 0 for holders loaded from PostgreSQL). */
  holders: Map<string, number>;
}

export interface HolderRepair {
  /** Holders PostgreSQL knows and the state lacks: added as confirmed. */
  add: string[];
  /** Claims PostgreSQL never recorded: removed if still exactly these claims. */
  remove: { userId: string; claimedAtMs: number }[];
}

/**
 * The first-come-first-served state of limited coupons: Redis (one Lua script decides each claim) or, in
 * single-instance mode, an in-process twin with the same semantics. PostgreSQL stays the source of truth:
 * the state is built from it and every claim is written to it before it counts.
 */
export interface CouponClaims {
  /** Atomically: is the coupon open? has this user claimed it? is any left? — and if so, claims one. */
  claim(couponId: string, userId: string): Promise<ClaimOutcome>;
  /**
   * Installs a state built from `snapshot`: "superseded" if another one was installed since the state was seen
   * missing or stale as `expectedEpoch` (null: missing); "outdated" if the state has seen a later lifecycle
   * version than the snapshot's (a change committed after the snapshot was read): read it again.
   */
  load(snapshot: CouponSnapshot, expectedEpoch: string | null): Promise<LoadOutcome>;
  /** Undoes a claim if it is still exactly that one; `markStale` also makes the next claim rebuild the state. */
  release(ticket: ClaimTicket, options?: { markStale?: boolean }): Promise<boolean>;
  /**
   * Applies a lifecycle change (suspend, resume, cancel) at once, unless the state has seen a later version.
   * With no state, the version is kept for the next build, so a snapshot older than it is never installed.
   * True when a live state was changed.
   */
  updateLifecycle(coupon: Coupon): Promise<boolean>;
  /**
   * Notes a holder issued through the database path, so the limited path agrees. Undefined when no state is
   * loaded (it will be built from PostgreSQL, this holder included) or the user was already in it.
   */
  recordHolder(couponId: string, userId: string): Promise<ClaimTicket | undefined>;
  inspect(couponId: string): Promise<ClaimState | undefined>;
  /** Applies a reconciliation to the state of `epoch`; false if the state changed epoch meanwhile. */
  repair(couponId: string, epoch: string, repair: HolderRepair, options?: { markStale?: boolean }): Promise<boolean>;
}

export type IssuePath = "database" | "limited";
export type IssueResult =
  | "issued"
  | "already_issued"
  | "sold_out"
  | "not_active"
  | "not_found"
  | "unavailable"
  /** Refused for another reason: forbidden, an unknown user. */
  | "rejected"
  /** Failed on our side. */
  | "error";

/** Why a claim was undone: PostgreSQL refused it, the write failed, or the transaction around it rolled back. */
export type CompensationReason = "refused" | "failed" | "rolled_back" | "orphaned";

/** What the issue paths report (metrics and logs live in the wiring, not in the domain). */
export interface CouponIssueObserver {
  issueOutcome(path: IssuePath, result: IssueResult): void;
  /** A claim was given back; `error` when giving it back failed (the unit waits for orphan recovery). */
  compensation(reason: CompensationReason, error?: unknown): void;
  stateBuilt(couponId: string, holders: number): void;
  /** A committed change could not be passed on to the limited-issue state (PostgreSQL still guards it). */
  stateUnreachable(couponId: string, change: "lifecycle" | "holder", error: unknown): void;
  /** A group of claims written in one transaction (`error`: the group failed, each was written on its own). */
  claimsWritten(count: number, error?: unknown): void;
}

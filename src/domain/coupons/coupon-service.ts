import type { OutboxWriter } from "../outbox/ports";
import type { Clock } from "../shared/clock";
import { DomainError, type FieldError } from "../shared/errors";
import type { Page, PageRequest } from "../shared/paging";
import type { UnitOfWork } from "../shared/unit-of-work";
import { assertActsFor, assertOwnerOrAdmin, assertRole } from "../users/access";
import type { UserRepository } from "../users/ports";
import type { Actor } from "../users/user";
import { type Coupon, type CouponView, type HeldCouponView, MAX_DISCOUNT_KRW, type NewCoupon } from "./coupon";
import { couponCreated } from "./coupon-events";
import type { IssueRequest } from "./coupon-issue";
import { COUPON_MACHINE, type CouponStatus, couponStatus } from "./coupon-status";
import type { CouponClaims, CouponIssueObserver, CouponRepository, Lifecycle, UserCouponRepository } from "./ports";
import type { UserCouponStatus } from "./user-coupon-status";
import { toCouponView, toHeldCouponView } from "./views";

export type CouponAction = "suspend" | "resume" | "cancel";

/** An issue request as clients send it: the coupon named by its id or by its code (exactly one). */
export type IssueRequestByIdOrCode = { userId: string } & (
  | { couponId: string; code?: undefined }
  | { code: string; couponId?: undefined }
);

/** How many codes a process remembers the coupon id of (a code never changes its coupon). */
const CODE_CACHE_SIZE = 10_000;

interface CouponServiceDeps {
  coupons: CouponRepository;
  users: Pick<UserRepository, "findById">;
  userCoupons: UserCouponRepository;
  /** The limited-issue state, told about lifecycle changes so they take effect there at once. */
  claims: CouponClaims;
  unitOfWork: UnitOfWork;
  outbox: OutboxWriter;
  clock: Clock;
  newId: () => string;
  observer?: CouponIssueObserver;
}

/** Cross-field rules of a new coupon; single fields (formats, ranges) are checked by the route schema too. */
export function newCouponProblems(coupon: NewCoupon, now: Date): FieldError[] {
  const problems: FieldError[] = [];
  const integerIn = (path: string, value: number | null | undefined, min: number, max: number) => {
    if (value !== null && value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) {
      problems.push({ path, message: `must be an integer from ${min} to ${max}` });
    }
  };
  if (coupon.type === "PERCENTAGE") {
    integerIn("discountValue", coupon.discountValue, 1, 100);
    integerIn("maxDiscountAmount", coupon.maxDiscountAmount, 1, MAX_DISCOUNT_KRW);
  } else {
    integerIn("discountValue", coupon.discountValue, 1, MAX_DISCOUNT_KRW);
    if (coupon.maxDiscountAmount !== null && coupon.maxDiscountAmount !== undefined) {
      problems.push({ path: "maxDiscountAmount", message: "applies to PERCENTAGE coupons only" });
    }
  }
  if (coupon.validUntil.getTime() <= coupon.validFrom.getTime()) {
    problems.push({ path: "validUntil", message: "must be after validFrom" });
  } else if (coupon.validUntil.getTime() <= now.getTime()) {
    problems.push({ path: "validUntil", message: "must be in the future" });
  }
  return problems;
}

/** Coupons as sellers and admins define and run them, and as holders list them. Issuing: see CouponIssue. */
export class CouponService {
  /** Code (lower case) → the coupon's id, or the lookup in flight: a drop's thousands of claims by code cost one read. */
  readonly #idsByCode = new Map<string, Promise<string | undefined>>();

  constructor(private readonly deps: CouponServiceDeps) {}

  async create(actor: Actor, coupon: NewCoupon): Promise<CouponView> {
    assertRole(actor, "SELLER", "ADMIN");
    const now = this.deps.clock.now();
    const problems = newCouponProblems(coupon, now);
    if (problems.length > 0) {
      throw new DomainError("VALIDATION_FAILED", problems.map((p) => `${p.path}: ${p.message}`).join("; "), problems);
    }
    const created = await this.deps.unitOfWork.withTransaction(async () => {
      const row = await this.deps.coupons.insert({
        id: this.deps.newId(),
        issuerId: actor.userId,
        code: coupon.code,
        name: coupon.name,
        type: coupon.type,
        discountValue: coupon.discountValue,
        maxDiscountAmount: coupon.maxDiscountAmount ?? null,
        minOrderAmount: coupon.minOrderAmount ?? 0,
        totalQuantity: coupon.totalQuantity,
        validFrom: coupon.validFrom,
        validUntil: coupon.validUntil,
      });
      await this.deps.outbox.append("coupon", couponCreated(row));
      return row;
    });
    return toCouponView(created, now);
  }

  async get(id: string): Promise<CouponView> {
    return toCouponView(await this.#find(id), this.deps.clock.now());
  }

  /** The coupon a buyer typed the code of, in any case (any signed-in user). */
  async getByCode(code: string): Promise<CouponView> {
    const coupon = await this.deps.coupons.findByCode(code);
    if (!coupon) throw codeNotFound(code);
    return toCouponView(coupon, this.deps.clock.now());
  }

  /**
   * The issue request with the coupon named by its id: a code is looked up once per process (codes are
   * unique and never change their coupon, and coupons are never deleted), so claims by code on the drop path
   * stay as cheap as claims by id. An unknown code is 404 COUPON_NOT_FOUND (and not remembered: it may be
   * created later).
   */
  async issueRequest(request: IssueRequestByIdOrCode): Promise<IssueRequest> {
    if (request.couponId !== undefined) return { couponId: request.couponId, userId: request.userId };
    const key = request.code.toLowerCase();
    let lookup = this.#idsByCode.get(key);
    if (!lookup) {
      if (this.#idsByCode.size >= CODE_CACHE_SIZE) this.#idsByCode.clear();
      lookup = this.deps.coupons.findByCode(key).then((coupon) => coupon?.id);
      this.#idsByCode.set(key, lookup);
    }
    const couponId = await lookup.catch((error) => {
      this.#idsByCode.delete(key);
      throw error;
    });
    if (!couponId) {
      this.#idsByCode.delete(key);
      throw codeNotFound(request.code);
    }
    return { couponId, userId: request.userId };
  }

  /** Coupons as their issuers see them: a SELLER its own, an ADMIN anyone's (BUYER: 403). Newest first. */
  async list(
    actor: Actor,
    filter: { issuerId?: string; status?: CouponStatus },
    page: PageRequest,
  ): Promise<Page<CouponView>> {
    assertRole(actor, "SELLER", "ADMIN");
    if (actor.role === "SELLER" && filter.issuerId !== undefined && filter.issuerId !== actor.userId) {
      throw new DomainError("FORBIDDEN", "A seller lists its own coupons only");
    }
    const issuerId = actor.role === "SELLER" ? actor.userId : filter.issuerId;
    const now = this.deps.clock.now();
    const found = await this.deps.coupons.list({ issuerId, status: filter.status, now }, page);
    return { ...found, items: found.items.map((coupon) => toCouponView(coupon, now)) };
  }

  /** Suspend, resume or cancel, as the coupon's issuer or an ADMIN; the machine decides what is allowed. */
  async change(actor: Actor, id: string, action: CouponAction): Promise<CouponView> {
    const now = this.deps.clock.now();
    // Decided on the locked row, so two admins acting at once are ordered and each sees the other's change.
    const changed = await this.deps.unitOfWork.withTransaction(async () => {
      const coupon = await this.deps.coupons.findForUpdate(id);
      if (!coupon) throw new DomainError("COUPON_NOT_FOUND", `No coupon ${id}`);
      assertIssuerOrAdmin(actor, coupon);
      return this.deps.coupons.saveLifecycle(id, lifecycleAfter(action, coupon, now));
    });
    try {
      // With no state in Redis, the change is kept there for the next build (an older snapshot cannot win).
      await this.deps.claims.updateLifecycle(changed);
    } catch (error) {
      // Committed: the database refuses limited issues of a suspended or cancelled coupon by itself, and the
      // first refusal makes the limited-issue state rebuild from it.
      this.deps.observer?.stateUnreachable(id, "lifecycle", error);
    }
    return toCouponView(changed, now);
  }

  async listHeld(
    actor: Actor,
    userId: string,
    status: UserCouponStatus | undefined,
    page: PageRequest,
  ): Promise<Page<HeldCouponView>> {
    assertActsFor(actor, userId);
    const now = this.deps.clock.now();
    const held = await this.deps.userCoupons.listHeld(userId, { status, now }, page);
    // Only an empty answer to someone else's list may be an unknown user: one more read, and only then.
    if (held.total === 0 && actor.userId !== userId && !(await this.deps.users.findById(userId))) {
      throw new DomainError("USER_NOT_FOUND", `No user ${userId}`);
    }
    return { ...held, items: held.items.map((item) => toHeldCouponView(item, now)) };
  }

  async #find(id: string): Promise<Coupon> {
    const coupon = await this.deps.coupons.find(id);
    if (!coupon) throw new DomainError("COUPON_NOT_FOUND", `No coupon ${id}`);
    return coupon;
  }
}

const codeNotFound = (code: string) => new DomainError("COUPON_NOT_FOUND", `No coupon has the code ${code}`);

export function assertIssuerOrAdmin(actor: Actor, coupon: Coupon): void {
  assertOwnerOrAdmin(actor, coupon.issuerId, "Only the coupon's issuer or an ADMIN may do this");
}

/**
 * The markers an issuer action leaves, if the machine allows the move it makes (else INVALID_COUPON_TRANSITION).
 * An action that would leave the status as it is (resuming an ACTIVE coupon) is no move in the table.
 */
export function lifecycleAfter(action: CouponAction, coupon: Coupon, now: Date): Lifecycle {
  const lifecycle: Lifecycle = {
    suspendedAt: action === "suspend" ? now : action === "resume" ? null : coupon.suspendedAt,
    cancelledAt: action === "cancel" ? now : coupon.cancelledAt,
  };
  COUPON_MACHINE.assert(couponStatus(coupon, now), couponStatus({ ...coupon, ...lifecycle }, now), { action });
  return lifecycle;
}

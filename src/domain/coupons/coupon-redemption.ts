import type { OutboxWriter } from "../outbox/ports";
import type { Clock } from "../shared/clock";
import type { UnitOfWork } from "../shared/unit-of-work";
import { couponStatus } from "./coupon-status";
import { discountFor } from "./discount";
import type { UserCouponRepository } from "./ports";
import { USER_COUPON_MACHINE, userCouponStatus } from "./user-coupon-status";

/**
 * Why a coupon was not applied to an order (stable strings: orders show them as `couponRejectedReason`):
 * NOT_FOUND (no such user coupon), NOT_OWNED (another user's), NOT_USABLE (already USED, or taken by a
 * concurrent order), EXPIRED (its window has ended), NOT_ACTIVE (the coupon is suspended or cancelled),
 * BELOW_MIN_ORDER_AMOUNT (the subtotal is under the coupon's minimum). Checked in this order.
 */
export const REDEMPTION_REJECTIONS = [
  "NOT_FOUND",
  "NOT_OWNED",
  "NOT_USABLE",
  "EXPIRED",
  "NOT_ACTIVE",
  "BELOW_MIN_ORDER_AMOUNT",
] as const;
export type RedemptionRejection = (typeof REDEMPTION_REJECTIONS)[number];

export type Redemption =
  | { applied: true; discountAmount: number; userCouponId: string }
  | { applied: false; reason: RedemptionRejection };

export interface RedeemRequest {
  userCouponId: string;
  /** The order's buyer: only the holder may use a coupon. */
  userId: string;
  orderId: string;
  /** The order's subtotal in KRW, before the discount. */
  subtotal: number;
}

export type Restoration = { restored: true; userCouponId: string } | { restored: false };

interface CouponRedemptionDeps {
  userCoupons: UserCouponRepository;
  unitOfWork: UnitOfWork;
  outbox: OutboxWriter;
  clock: Clock;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Applying held coupons to orders, for the ordering context. Both methods join the caller's transaction
 * (the order's), so the coupon is used, or given back, exactly when the order change commits. An invalid
 * coupon never fails an order: redeemForOrder says why it was not applied instead of throwing.
 */
export class CouponRedemption {
  constructor(private readonly deps: CouponRedemptionDeps) {}

  async redeemForOrder({ userCouponId, userId, orderId, subtotal }: RedeemRequest): Promise<Redemption> {
    if (!UUID.test(userCouponId)) return { applied: false, reason: "NOT_FOUND" };
    const now = this.deps.clock.now();
    return this.deps.unitOfWork.withTransaction(async (): Promise<Redemption> => {
      const held = await this.deps.userCoupons.findHeld(userCouponId.toLowerCase());
      if (!held) return { applied: false, reason: "NOT_FOUND" };
      if (held.userId !== userId.toLowerCase()) return { applied: false, reason: "NOT_OWNED" };
      const status = userCouponStatus(held.status, held.coupon.validUntil, now);
      if (status === "EXPIRED") return { applied: false, reason: "EXPIRED" };
      if (!USER_COUPON_MACHINE.can(status, "USED")) return { applied: false, reason: "NOT_USABLE" };
      const coupon = couponStatus(held.coupon, now);
      // EXHAUSTED only means nobody else can get one; the units already issued stay usable.
      if (coupon !== "ACTIVE" && coupon !== "EXHAUSTED") return { applied: false, reason: "NOT_ACTIVE" };
      if (subtotal < held.coupon.minOrderAmount) return { applied: false, reason: "BELOW_MIN_ORDER_AMOUNT" };
      const discountAmount = discountFor(held.coupon, subtotal);
      // The conditional update decides between concurrent orders: exactly one moves it out of ISSUED/REFUNDED.
      const used = await this.deps.userCoupons.markUsed(held.id, orderId, now);
      if (!used) return { applied: false, reason: "NOT_USABLE" };
      await this.deps.outbox.append("coupon", {
        aggregateId: used.id,
        type: "COUPON_USED",
        payload: {
          userCouponId: used.id,
          couponId: used.couponId,
          userId: used.userId,
          orderId,
          subtotal,
          discountAmount,
          usedAt: now.toISOString(),
        },
      });
      return { applied: true, discountAmount, userCouponId: used.id };
    });
  }

  /** Gives back the coupon applied to a cancelled or refunded order (USED → REFUNDED), once however often asked. */
  async restoreForOrder(orderId: string): Promise<Restoration> {
    const now = this.deps.clock.now();
    return this.deps.unitOfWork.withTransaction(async (): Promise<Restoration> => {
      const restored = await this.deps.userCoupons.markRefunded(orderId, now);
      for (const userCoupon of restored) {
        await this.deps.outbox.append("coupon", {
          aggregateId: userCoupon.id,
          type: "COUPON_RESTORED",
          payload: {
            userCouponId: userCoupon.id,
            couponId: userCoupon.couponId,
            userId: userCoupon.userId,
            orderId,
            restoredAt: now.toISOString(),
          },
        });
      }
      const [first] = restored;
      return first ? { restored: true, userCouponId: first.id } : { restored: false };
    });
  }
}

import type { CouponStatus } from "./coupon-status";
import type { UserCouponStatus } from "./user-coupon-status";

export const COUPON_TYPES = ["PERCENTAGE", "FIXED"] as const;
export type CouponType = (typeof COUPON_TYPES)[number];

/** Sane caps: a drop is thousands of units, not billions; a fixed discount is a price, not a fortune. */
export const MAX_COUPON_QUANTITY = 1_000_000;
export const MAX_DISCOUNT_KRW = 10_000_000;
export const MAX_MIN_ORDER_AMOUNT = 1_000_000_000;
/** Letters, digits, `-` and `_`, starting with a letter or digit; compared case-insensitively. */
export const COUPON_CODE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$/;

export interface Coupon {
  id: string;
  code: string;
  name: string;
  issuerId: string;
  type: CouponType;
  /** PERCENTAGE: the rate, 1–100. FIXED: KRW off. */
  discountValue: number;
  /** PERCENTAGE only: the most KRW the rate may take off; null = no cap. */
  maxDiscountAmount: number | null;
  minOrderAmount: number;
  totalQuantity: number;
  issuedQuantity: number;
  validFrom: Date;
  validUntil: Date;
  suspendedAt: Date | null;
  cancelledAt: Date | null;
  /** Moves with the lifecycle (suspend, resume, cancel), not with each issue. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewCoupon {
  code: string;
  name: string;
  type: CouponType;
  discountValue: number;
  maxDiscountAmount?: number | null;
  minOrderAmount?: number;
  totalQuantity: number;
  validFrom: Date;
  validUntil: Date;
}

/** A coupon as clients see it: its status and what is left, as of one instant. */
export interface CouponView extends Coupon {
  status: CouponStatus;
  remainingQuantity: number;
}

/** A coupon issued to one user, as stored (`status` is never EXPIRED in storage: that is read from the clock). */
export interface UserCoupon {
  id: string;
  couponId: string;
  userId: string;
  status: UserCouponStatus;
  issuedAt: Date;
  usedAt: Date | null;
  orderId: string | null;
  updatedAt: Date;
}

export interface HeldCoupon extends UserCoupon {
  coupon: Coupon;
}

export interface HeldCouponView extends UserCoupon {
  coupon: CouponView;
}

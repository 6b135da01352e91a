import { z } from "@hono/zod-openapi";
import {
  COUPON_CODE_PATTERN,
  COUPON_TYPES,
  type CouponView,
  type HeldCouponView,
  MAX_COUPON_QUANTITY,
  MAX_DISCOUNT_KRW,
  MAX_MIN_ORDER_AMOUNT,
} from "../../domain/coupons/coupon";
import { COUPON_STATUSES } from "../../domain/coupons/coupon-status";
import { USER_COUPON_STATUSES } from "../../domain/coupons/user-coupon-status";
import { Krw, limitPageDepth, PageQuery, PlainText, pageOf, Timestamp, Uuid } from "../lib/schemas";

const integerIn = (min: number, max: number) => z.number().int().min(min).max(max);
/** ISO-8601 with `Z` or an offset; stored and answered in UTC. */
const Instant = z.iso.datetime({ offset: true }).openapi({ example: "2026-11-25T10:00:00.000Z" });
const CouponType = z.enum(COUPON_TYPES).openapi({
  description: "PERCENTAGE takes `discountValue` percent off (1–100); FIXED takes `discountValue` KRW off",
});

export const CouponCode = z
  .string()
  .regex(COUPON_CODE_PATTERN, "must be 3–32 letters, digits, - or _, starting with a letter or digit")
  .openapi({ example: "DROP-JORDAN1-2026", description: "Unique, compared case-insensitively" });

export const CreateCouponSchema = z
  .strictObject({
    code: CouponCode,
    name: PlainText(100).trim().min(1).openapi({ example: "Jordan 1 drop: 10% off" }),
    type: CouponType,
    discountValue: integerIn(1, MAX_DISCOUNT_KRW).openapi({
      example: 10,
      description: `PERCENTAGE: 1–100. FIXED: 1–${MAX_DISCOUNT_KRW} KRW`,
    }),
    maxDiscountAmount: integerIn(1, MAX_DISCOUNT_KRW)
      .nullable()
      .optional()
      .openapi({ example: 30000, description: "PERCENTAGE only: the most KRW the rate may take off" }),
    minOrderAmount: integerIn(0, MAX_MIN_ORDER_AMOUNT)
      .optional()
      .openapi({ example: 100000, description: "Smallest order subtotal the coupon applies to (default 0)" }),
    totalQuantity: integerIn(1, MAX_COUPON_QUANTITY).openapi({ example: 1000 }),
    validFrom: Instant,
    validUntil: Instant.openapi({ example: "2026-11-26T10:00:00.000Z", description: "After validFrom, in the future" }),
  })
  .openapi("CreateCoupon");

export const CouponSchema = z
  .object({
    id: z.uuid(),
    code: z.string().openapi({ example: "DROP-JORDAN1-2026" }),
    name: z.string().openapi({ example: "Jordan 1 drop: 10% off" }),
    issuerId: z.uuid(),
    type: CouponType,
    discountValue: z.number().int().openapi({ example: 10 }),
    maxDiscountAmount: Krw.nullable().openapi({ example: 30000 }),
    minOrderAmount: Krw.openapi({ example: 100000 }),
    totalQuantity: z.number().int().openapi({ example: 1000 }),
    issuedQuantity: z.number().int().openapi({ example: 998 }),
    remainingQuantity: z.number().int().openapi({ example: 2 }),
    validFrom: Timestamp,
    validUntil: Timestamp.openapi({ example: "2026-11-26T10:00:00.000Z" }),
    status: z.enum(COUPON_STATUSES).openapi({
      description:
        "CREATED before validFrom, ACTIVE, EXHAUSTED when all are issued, EXPIRED after validUntil, SUSPENDED, CANCELLED",
    }),
    createdAt: Timestamp,
  })
  .openapi("Coupon");

export const IssueCouponSchema = z
  .strictObject({
    couponId: Uuid.optional().openapi({ description: "The coupon by id; send this or `code`, not both" }),
    code: CouponCode.optional().openapi({
      description: "The coupon by its code, in any case; send this or `couponId`",
    }),
    userId: Uuid.openapi({ description: "The caller's own id, unless the caller is the coupon's issuer or an ADMIN" }),
  })
  .superRefine((request, ctx) => {
    if ((request.couponId === undefined) === (request.code === undefined)) {
      const message = "send exactly one of couponId and code";
      for (const path of request.couponId === undefined ? ["couponId", "code"] : ["code"]) {
        ctx.addIssue({ code: "custom", path: [path], message });
      }
    }
  })
  .openapi("IssueCoupon", {
    description: "The coupon by `couponId` or by `code` (exactly one), and its new holder",
    example: { code: "DROP-JORDAN1-2026", userId: "0193a5b2-7c4e-7d3a-9f10-2b3c4d5e6f70" },
  });

export const UserCouponSchema = z
  .object({
    id: z.uuid(),
    couponId: z.uuid(),
    userId: z.uuid(),
    status: z.enum(USER_COUPON_STATUSES).openapi({
      description:
        "ISSUED, USED (applied to an order), EXPIRED (window ended unused), REFUNDED (order cancelled: usable again)",
    }),
    issuedAt: Timestamp,
    usedAt: Timestamp.nullable(),
    orderId: z.uuid().nullable(),
    coupon: CouponSchema,
  })
  .openapi("UserCoupon");

export const UserCouponPageSchema = pageOf(UserCouponSchema, "UserCouponPage");

export const CouponListQuery = PageQuery.extend({
  status: z.enum(COUPON_STATUSES).optional().openapi({ description: "Only coupons in this status now" }),
  issuerId: Uuid.optional().openapi({ description: "Only this issuer's (an ADMIN's filter; a SELLER sees its own)" }),
});

export const CouponPageSchema = pageOf(CouponSchema, "CouponPage");

export const HeldCouponQuery = PageQuery.extend({
  status: z.enum(USER_COUPON_STATUSES).optional().openapi({ description: "Only coupons in this status" }),
}).superRefine(limitPageDepth());

export const toCouponJson = (c: CouponView): z.infer<typeof CouponSchema> => ({
  id: c.id,
  code: c.code,
  name: c.name,
  issuerId: c.issuerId,
  type: c.type,
  discountValue: c.discountValue,
  maxDiscountAmount: c.maxDiscountAmount,
  minOrderAmount: c.minOrderAmount,
  totalQuantity: c.totalQuantity,
  issuedQuantity: c.issuedQuantity,
  remainingQuantity: c.remainingQuantity,
  validFrom: c.validFrom.toISOString(),
  validUntil: c.validUntil.toISOString(),
  status: c.status,
  createdAt: c.createdAt.toISOString(),
});

export const toUserCouponJson = (u: HeldCouponView): z.infer<typeof UserCouponSchema> => ({
  id: u.id,
  couponId: u.couponId,
  userId: u.userId,
  status: u.status,
  issuedAt: u.issuedAt.toISOString(),
  usedAt: u.usedAt?.toISOString() ?? null,
  orderId: u.orderId,
  coupon: toCouponJson(u.coupon),
});

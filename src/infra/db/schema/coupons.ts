import { sql } from "drizzle-orm";
import { check, index, integer, pgEnum, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { COUPON_TYPES, MAX_COUPON_QUANTITY, MAX_DISCOUNT_KRW } from "../../../domain/coupons/coupon";
import { USER_COUPON_STATUSES } from "../../../domain/coupons/user-coupon-status";
import { at, krw } from "./columns";
import { users } from "./users";

export const couponType = pgEnum("coupon_type", COUPON_TYPES);

/**
 * A coupon's definition and its issue count. The visible status (CREATED, ACTIVE, EXHAUSTED, EXPIRED,
 * SUSPENDED, CANCELLED) is derived from these columns and the clock, never stored, so it cannot go stale.
 * `version` moves with the lifecycle (suspend, resume, cancel), not with each issue.
 */
export const coupons = pgTable(
  "coupons",
  {
    id: uuid().primaryKey(),
    code: text().notNull(),
    name: text().notNull(),
    issuerId: uuid()
      .notNull()
      .references(() => users.id),
    type: couponType().notNull(),
    discountValue: integer().notNull(),
    maxDiscountAmount: krw(),
    minOrderAmount: krw().notNull().default(0),
    totalQuantity: integer().notNull(),
    issuedQuantity: integer().notNull().default(0),
    validFrom: at().notNull(),
    validUntil: at().notNull(),
    suspendedAt: at(),
    cancelledAt: at(),
    version: integer().notNull().default(0),
    createdAt: at().notNull().defaultNow(),
    updatedAt: at().notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("coupons_code_key").on(sql`lower(${t.code})`),
    index("coupons_issuer").on(t.issuerId),
    // The service refuses all of these earlier with field errors; the database is the last line of defence.
    check("coupons_discount_value", sql`${t.discountValue} between 1 and ${sql.raw(String(MAX_DISCOUNT_KRW))}`),
    check("coupons_percentage_range", sql`${t.type} <> 'PERCENTAGE' or ${t.discountValue} <= 100`),
    check(
      "coupons_max_discount",
      sql`${t.maxDiscountAmount} is null or (${t.type} = 'PERCENTAGE' and ${t.maxDiscountAmount} >= 1)`,
    ),
    check("coupons_min_order_amount", sql`${t.minOrderAmount} >= 0`),
    check("coupons_total_quantity", sql`${t.totalQuantity} between 1 and ${sql.raw(String(MAX_COUPON_QUANTITY))}`),
    check("coupons_issued_quantity", sql`${t.issuedQuantity} between 0 and ${t.totalQuantity}`),
    check("coupons_validity_window", sql`${t.validUntil} > ${t.validFrom}`),
  ],
);

export const userCouponStatus = pgEnum("user_coupon_status", USER_COUPON_STATUSES);

/**
 * One row per issued coupon. The unique (coupon, user) is what makes "one per user" hold on every path.
 * `orderId` references the order it is used on through a deferred foreign key (migration 0010): an order's
 * transaction marks its coupon USED before it inserts the order row, and the key is checked at commit.
 */
export const userCoupons = pgTable(
  "user_coupons",
  {
    id: uuid().primaryKey(),
    couponId: uuid()
      .notNull()
      .references(() => coupons.id),
    userId: uuid()
      .notNull()
      .references(() => users.id),
    status: userCouponStatus().notNull().default("ISSUED"),
    issuedAt: at().notNull().defaultNow(),
    usedAt: at(),
    orderId: uuid(),
    updatedAt: at().notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("user_coupons_coupon_user").on(t.couponId, t.userId),
    // The holder's list, newest first.
    index("user_coupons_user").on(t.userId, t.issuedAt),
    // restoreForOrder looks the coupon up by the order it was applied to.
    index("user_coupons_order").on(t.orderId).where(sql`${t.orderId} is not null`),
    // A used coupon names its order and when; an unused one neither.
    check("user_coupons_used_order", sql`(${t.status} = 'USED') = (${t.orderId} is not null)`),
    check("user_coupons_used_at", sql`(${t.status} = 'USED') = (${t.usedAt} is not null)`),
  ],
);

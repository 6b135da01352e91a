import { and, count, desc, eq, gt, inArray, lte, or, type SQL, sql } from "drizzle-orm";
import type { HeldCoupon, UserCoupon } from "../../../domain/coupons/coupon";
import type { HeldCouponFilter, NewUserCoupon, UserCouponRepository } from "../../../domain/coupons/ports";
import {
  USER_COUPON_MACHINE,
  USER_COUPON_MOVES,
  type UserCouponStatus,
} from "../../../domain/coupons/user-coupon-status";
import { DomainError } from "../../../domain/shared/errors";
import { offsetOf, type Page, type PageRequest } from "../../../domain/shared/paging";
import { sqlState } from "../../dependency-errors";
import { coupons, userCoupons } from "../schema";
import type { Transactions } from "../transactions";

/** The SQL twin of userCouponStatus(): EXPIRED is stored or read from the coupon's window at `now`. */
function statusIs(status: UserCouponStatus, now: Date): SQL | undefined {
  if (status === "EXPIRED") {
    return or(
      eq(userCoupons.status, USER_COUPON_MOVES.expire.to),
      and(inArray(userCoupons.status, [...USER_COUPON_MOVES.expire.from]), lte(coupons.validUntil, now)),
    );
  }
  if (USER_COUPON_MACHINE.can(status, "EXPIRED"))
    return and(eq(userCoupons.status, status), gt(coupons.validUntil, now));
  return eq(userCoupons.status, status);
}

export class DrizzleUserCouponRepository implements UserCouponRepository {
  constructor(private readonly tx: Transactions) {}

  async insert(userCoupon: NewUserCoupon): Promise<UserCoupon | undefined> {
    try {
      const [row] = await this.tx.current
        .insert(userCoupons)
        .values({ ...userCoupon, updatedAt: userCoupon.issuedAt })
        .onConflictDoNothing({ target: [userCoupons.couponId, userCoupons.userId] })
        .returning();
      return row;
    } catch (error) {
      // The coupon was read just before; an unknown user is the foreign key that can fail.
      if (sqlState(error) === "23503") throw new DomainError("USER_NOT_FOUND", `No user ${userCoupon.userId}`);
      throw error;
    }
  }

  async insertMany(rows: NewUserCoupon[]): Promise<UserCoupon[]> {
    if (rows.length === 0) return [];
    return this.tx.current
      .insert(userCoupons)
      .values(rows.map((row) => ({ ...row, updatedAt: row.issuedAt })))
      .onConflictDoNothing({ target: [userCoupons.couponId, userCoupons.userId] })
      .returning();
  }

  async holds(couponId: string, userId: string): Promise<boolean> {
    const rows = await this.tx.current
      .select({ id: userCoupons.id })
      .from(userCoupons)
      .where(and(eq(userCoupons.couponId, couponId), eq(userCoupons.userId, userId)));
    return rows.length === 1;
  }

  async listHeld(userId: string, filter: HeldCouponFilter, page: PageRequest): Promise<Page<HeldCoupon>> {
    const where = and(eq(userCoupons.userId, userId), filter.status ? statusIs(filter.status, filter.now) : undefined);
    const rows = await this.tx.current
      .select({
        userCoupon: userCoupons,
        coupon: coupons,
        total: sql<number>`count(*) over ()`.mapWith(Number),
      })
      .from(userCoupons)
      .innerJoin(coupons, eq(coupons.id, userCoupons.couponId))
      .where(where)
      .orderBy(desc(userCoupons.issuedAt), desc(userCoupons.id))
      .limit(page.size)
      .offset(offsetOf(page));
    // Past the last page there is no row to carry the total; count separately.
    const total =
      rows[0]?.total ??
      (page.page > 1
        ? ((
            await this.tx.current
              .select({ total: count() })
              .from(userCoupons)
              .innerJoin(coupons, eq(coupons.id, userCoupons.couponId))
              .where(where)
          )[0]?.total ?? 0)
        : 0);
    return { items: rows.map((row) => ({ ...row.userCoupon, coupon: row.coupon })), ...page, total };
  }

  async findHeld(id: string): Promise<HeldCoupon | undefined> {
    const [row] = await this.tx.current
      .select({ userCoupon: userCoupons, coupon: coupons })
      .from(userCoupons)
      .innerJoin(coupons, eq(coupons.id, userCoupons.couponId))
      .where(eq(userCoupons.id, id));
    return row && { ...row.userCoupon, coupon: row.coupon };
  }

  async markUsed(id: string, orderId: string, now: Date): Promise<UserCoupon | undefined> {
    const { from, to } = USER_COUPON_MOVES.use;
    const [row] = await this.tx.current
      .update(userCoupons)
      .set({ status: to, orderId, usedAt: now, updatedAt: now })
      .where(and(eq(userCoupons.id, id), inArray(userCoupons.status, [...from])))
      .returning();
    return row;
  }

  async markRefunded(orderId: string, now: Date): Promise<UserCoupon[]> {
    const { from, to } = USER_COUPON_MOVES.giveBack;
    return this.tx.current
      .update(userCoupons)
      .set({ status: to, orderId: null, usedAt: null, updatedAt: now })
      .where(and(eq(userCoupons.orderId, orderId), inArray(userCoupons.status, [...from])))
      .returning();
  }
}

import { and, asc, eq, gt, isNull, lt, lte, sql } from "drizzle-orm";
import type { Coupon } from "../../../domain/coupons/coupon";
import type { CouponRepository, CouponSnapshot, Lifecycle, NewCouponRecord } from "../../../domain/coupons/ports";
import { DomainError } from "../../../domain/shared/errors";
import { isUniqueViolation } from "../../dependency-errors";
import { coupons, userCoupons } from "../schema";
import type { Transactions } from "../transactions";

/** Units left, neither suspended nor cancelled, `now` inside the window: what an issue needs. */
const issuableAt = (now: Date) =>
  and(
    lt(coupons.issuedQuantity, coupons.totalQuantity),
    isNull(coupons.suspendedAt),
    isNull(coupons.cancelledAt),
    lte(coupons.validFrom, now),
    gt(coupons.validUntil, now),
  );

export class DrizzleCouponRepository implements CouponRepository {
  constructor(private readonly tx: Transactions) {}

  async insert(coupon: NewCouponRecord): Promise<Coupon> {
    try {
      const [row] = await this.tx.current.insert(coupons).values(coupon).returning();
      return row as Coupon;
    } catch (error) {
      if (isUniqueViolation(error)) throw new DomainError("COUPON_CODE_TAKEN", `The code ${coupon.code} is taken`);
      throw error;
    }
  }

  async find(id: string): Promise<Coupon | undefined> {
    const [row] = await this.tx.current.select().from(coupons).where(eq(coupons.id, id));
    return row;
  }

  async findForUpdate(id: string): Promise<Coupon | undefined> {
    const [row] = await this.tx.current.select().from(coupons).where(eq(coupons.id, id)).for("update");
    return row;
  }

  async saveLifecycle(id: string, lifecycle: Lifecycle): Promise<Coupon> {
    const [row] = await this.tx.current
      .update(coupons)
      .set({ ...lifecycle, version: sql`${coupons.version} + 1`, updatedAt: sql`now()` })
      .where(eq(coupons.id, id))
      .returning();
    if (!row) throw new DomainError("COUPON_NOT_FOUND", `No coupon ${id}`);
    return row;
  }

  async incrementIssued(id: string, now: Date): Promise<Coupon | undefined> {
    // Under read committed, a writer that waited for the row lock re-checks the condition on the row as the
    // previous writer left it: the last unit goes to exactly one of them.
    const [row] = await this.tx.current
      .update(coupons)
      .set({ issuedQuantity: sql`${coupons.issuedQuantity} + 1` })
      .where(and(eq(coupons.id, id), issuableAt(now)))
      .returning();
    return row;
  }

  async lockIfIssuable(id: string, now: Date): Promise<Coupon | undefined> {
    const [row] = await this.tx.current
      .select()
      .from(coupons)
      .where(and(eq(coupons.id, id), issuableAt(now)))
      .for("update");
    return row;
  }

  async addIssued(id: string, count: number): Promise<Coupon> {
    const [row] = await this.tx.current
      .update(coupons)
      .set({ issuedQuantity: sql`${coupons.issuedQuantity} + ${count}` })
      .where(eq(coupons.id, id))
      .returning();
    if (!row) throw new DomainError("COUPON_NOT_FOUND", `No coupon ${id}`);
    return row;
  }

  async snapshot(id: string): Promise<CouponSnapshot | undefined> {
    // One statement, so the holders and the count come from one snapshot of the database.
    const [row] = await this.tx.current
      .select({
        coupon: coupons,
        holderIds: sql<
          string[]
        >`coalesce(array_agg(${userCoupons.userId}::text) filter (where ${userCoupons.userId} is not null), '{}')`,
      })
      .from(coupons)
      .leftJoin(userCoupons, eq(userCoupons.couponId, coupons.id))
      .where(eq(coupons.id, id))
      .groupBy(coupons.id);
    return row;
  }

  async listIdsValidSince(since: Date, afterId: string | undefined, limit: number): Promise<string[]> {
    const rows = await this.tx.current
      .select({ id: coupons.id })
      .from(coupons)
      .where(and(gt(coupons.validUntil, since), afterId === undefined ? undefined : gt(coupons.id, afterId)))
      .orderBy(asc(coupons.id))
      .limit(limit);
    return rows.map((row) => row.id);
  }
}

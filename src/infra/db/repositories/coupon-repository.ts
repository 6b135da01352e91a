import { and, asc, desc, eq, gt, gte, isNotNull, isNull, lt, lte, type SQL, sql } from "drizzle-orm";
import type { Coupon } from "../../../domain/coupons/coupon";
import type { CouponStatus } from "../../../domain/coupons/coupon-status";
import type {
  CouponListFilter,
  CouponRepository,
  CouponSnapshot,
  Lifecycle,
  NewCouponRecord,
} from "../../../domain/coupons/ports";
import { DomainError } from "../../../domain/shared/errors";
import { offsetOf, type Page, type PageRequest } from "../../../domain/shared/paging";
import { isUniqueViolation } from "../../dependency-errors";
import { pageFrom, totalOfAll } from "../paging";
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

/**
 * The SQL twin of couponStatus() at `now`, with its precedence: CANCELLED, then EXPIRED (window ended), then
 * SUSPENDED, CREATED (before the window), EXHAUSTED, ACTIVE. A test holds the two to the same answers.
 */
function statusIs(status: CouponStatus, now: Date): SQL | undefined {
  const open = [isNull(coupons.cancelledAt), gt(coupons.validUntil, now)];
  const running = [...open, isNull(coupons.suspendedAt), lte(coupons.validFrom, now)];
  switch (status) {
    case "CANCELLED":
      return isNotNull(coupons.cancelledAt);
    case "EXPIRED":
      return and(isNull(coupons.cancelledAt), lte(coupons.validUntil, now));
    case "SUSPENDED":
      return and(...open, isNotNull(coupons.suspendedAt));
    case "CREATED":
      return and(...open, isNull(coupons.suspendedAt), gt(coupons.validFrom, now));
    case "EXHAUSTED":
      return and(...running, gte(coupons.issuedQuantity, coupons.totalQuantity));
    case "ACTIVE":
      return and(...running, lt(coupons.issuedQuantity, coupons.totalQuantity));
  }
}

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

  async findByCode(code: string): Promise<Coupon | undefined> {
    // lower(code) is what the unique index coupons_code_key holds: one index lookup.
    const [row] = await this.tx.current
      .select()
      .from(coupons)
      .where(eq(sql`lower(${coupons.code})`, code.toLowerCase()));
    return row;
  }

  async list(filter: CouponListFilter, page: PageRequest): Promise<Page<Coupon>> {
    const where = and(
      filter.issuerId ? eq(coupons.issuerId, filter.issuerId) : undefined,
      filter.status ? statusIs(filter.status, filter.now) : undefined,
    );
    const rows = await this.tx.current
      .select({ coupon: coupons, total: totalOfAll() })
      .from(coupons)
      .where(where)
      .orderBy(desc(coupons.createdAt), desc(coupons.id))
      .limit(page.size)
      .offset(offsetOf(page));
    const found = await pageFrom(rows, page, { db: this.tx.current, table: coupons, where });
    return { ...found, items: found.items.map((row) => row.coupon) };
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

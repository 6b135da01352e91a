import type { CouponClaims } from "../../src/domain/coupons/ports";
import type { TestApp } from "./harness";

const HOUR = 3600_000;

/** A valid coupon body, open from a minute ago for a day; override what the test is about. */
export function couponBody(overrides: Record<string, unknown> = {}) {
  return {
    code: `T-${crypto.randomUUID().slice(0, 13)}`,
    name: "Test drop",
    type: "PERCENTAGE",
    discountValue: 10,
    maxDiscountAmount: 20_000,
    minOrderAmount: 0,
    totalQuantity: 10,
    validFrom: new Date(Date.now() - 60_000).toISOString(),
    validUntil: new Date(Date.now() + 24 * HOUR).toISOString(),
    ...overrides,
  };
}

/** Creates a coupon through the API as `token` (a SELLER or ADMIN) and returns it. */
export async function createCoupon(t: TestApp, token: string, overrides: Record<string, unknown> = {}) {
  const res = await t.post("/api/v1/coupons", couponBody(overrides), { token });
  if (res.status !== 201) throw new Error(`coupon creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; code: string; issuerId: string; totalQuantity: number };
}

/** The app's limited-issue state, to look at it beside what the API answers. */
export const claimsOf = (t: TestApp) =>
  (t.container.services.couponIssue as unknown as { deps: { claims: CouponClaims } }).deps.claims;

/**
 * Makes PostgreSQL writes of user coupons for `failing` users throw (the single insert and the grouped one),
 * as a dropped connection would after Redis granted the claim. Returns the undo.
 */
export function failCouponWritesFor(
  repository: { insert: (...args: any[]) => Promise<unknown>; insertMany: (...args: any[]) => Promise<unknown> },
  failing: Set<string>,
): () => void {
  const { insert, insertMany } = repository;
  const fail = () => {
    throw new Error("injected: the database dropped the connection");
  };
  repository.insert = async (row: { userId: string }) =>
    failing.has(row.userId) ? fail() : insert.call(repository, row);
  repository.insertMany = async (rows: { userId: string }[]) =>
    rows.some((row) => failing.has(row.userId)) ? fail() : insertMany.call(repository, rows);
  return () => {
    repository.insert = insert;
    repository.insertMany = insertMany;
  };
}

import { DomainError } from "../shared/errors";
import type { Actor } from "../users/user";
import type { Coupon } from "./coupon";
import type { IssueRefusal } from "./coupon-status";
import type { IssueResult } from "./ports";

/** Retry-After of a refusal that rests on claims still being recorded or recovered: soon, and never long. */
const SETTLING_RETRY_SECONDS = 2;
const MAX_SETTLING_RETRY_SECONDS = 5;

const REFUSAL_DETAILS: Record<IssueRefusal, string> = {
  COUPON_NOT_ACTIVE: "The coupon is not active (not yet valid, expired, suspended or cancelled)",
  COUPON_ALREADY_ISSUED: "This user already holds this coupon",
  COUPON_SOLD_OUT: "Every unit of this coupon has been issued",
};

/** A final refusal: the same words on both paths. */
export const refused = (code: IssueRefusal) => new DomainError(code, REFUSAL_DETAILS[code]);

export const couponNotFound = (couponId: string) => new DomainError("COUPON_NOT_FOUND", `No coupon ${couponId}`);

/** Sold out in the state, not in PostgreSQL: units held by claims not recorded may come back. Not final. */
export const soldOutForNow = () =>
  new DomainError(
    "COUPON_SOLD_OUT",
    "Every unit is claimed, but some claims are still being recorded or recovered and units may come back; retry shortly",
    undefined,
    { retryAfterSeconds: SETTLING_RETRY_SECONDS },
  );

/** Another instance holds the build of the coupon's state past the wait. */
export const stateBeingRebuilt = () =>
  new DomainError("UNAVAILABLE", "The coupon's issue state is being rebuilt; retry shortly", undefined, {
    retryAfterSeconds: 1,
  });

/** The user's claim is in the state but not (yet) in PostgreSQL, and younger than the grace by `graceLeftMs`. */
export const claimNotRecordedYet = (graceLeftMs: number) =>
  new DomainError(
    "UNAVAILABLE",
    "Your earlier claim of this coupon is not recorded yet (its request may still be running, or may have failed); retry shortly",
    undefined,
    { retryAfterSeconds: Math.min(MAX_SETTLING_RETRY_SECONDS, Math.max(1, Math.ceil(graceLeftMs / 1000))) },
  );

/** PostgreSQL refusals that mean the limited-issue state said yes where it should not have: it has drifted. */
const DRIFT_CODES = new Set(["COUPON_SOLD_OUT", "COUPON_NOT_ACTIVE", "COUPON_NOT_FOUND"]);

export const showsDrift = (error: DomainError) => DRIFT_CODES.has(error.code);

const RESULTS: Record<string, IssueResult> = {
  COUPON_ALREADY_ISSUED: "already_issued",
  COUPON_SOLD_OUT: "sold_out",
  COUPON_NOT_ACTIVE: "not_active",
  COUPON_NOT_FOUND: "not_found",
  UNAVAILABLE: "unavailable",
};

/** How an issue that threw ended, for the observer. */
export const issueResultOf = (error: unknown): IssueResult =>
  error instanceof DomainError ? (RESULTS[error.code] ?? "rejected") : "error";

/** Contract: the caller is that user, or the coupon's issuer, or an ADMIN. */
export function assertMayIssueTo(actor: Actor, coupon: Coupon, userId: string): void {
  if (actor.role === "ADMIN" || actor.userId === userId || actor.userId === coupon.issuerId) return;
  throw new DomainError("FORBIDDEN", "Coupons are issued to the caller, or by the coupon's issuer or an ADMIN");
}

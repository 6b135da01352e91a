import { createRoute, z } from "@hono/zod-openapi";
import type { CouponAction } from "../../domain/coupons/coupon-service";
import type { ErrorCode } from "../lib/error-catalog";
import { BODY_PROBLEMS, problemResponses } from "../lib/openapi-problems";
import { IdempotencyKeyHeader, jsonBody, jsonResponse, UuidParam } from "../lib/schemas";
import { requireRole, signedIn } from "../middleware/authenticate";
import { idempotent } from "../middleware/idempotent";
import {
  CouponCode,
  CouponListQuery,
  CouponPageSchema,
  CouponSchema,
  CreateCouponSchema,
  HeldCouponQuery,
  IssueCouponSchema,
  UserCouponPageSchema,
  UserCouponSchema,
} from "./coupons.schemas";

const CouponParams = z.object({ couponId: UuidParam("couponId") });
const UserParams = z.object({ userId: UuidParam("userId") });
const CodeParams = z.object({ code: CouponCode.openapi({ param: { name: "code", in: "path" } }) });

export const createCoupon = createRoute({
  operationId: "createCoupon",
  method: "post",
  path: "/api/v1/coupons",
  tags: ["Coupons"],
  summary: "Define a coupon (SELLER, ADMIN)",
  description:
    "The caller becomes its issuer. Codes are unique case-insensitively. PERCENTAGE takes 1–100 (optionally capped by `maxDiscountAmount`), FIXED at least 1 KRW; `validUntil` must be after `validFrom` and in the future.",
  ...signedIn(requireRole("SELLER", "ADMIN")),
  request: { body: jsonBody(CreateCouponSchema) },
  responses: {
    201: jsonResponse(CouponSchema, "The new coupon"),
    ...problemResponses(...BODY_PROBLEMS, "UNAUTHENTICATED", "FORBIDDEN", "COUPON_CODE_TAKEN"),
  },
});

export const getCouponByCode = createRoute({
  operationId: "getCouponByCode",
  method: "get",
  path: "/api/v1/coupons/code/{code}",
  tags: ["Coupons"],
  summary: "Find a coupon by the code a buyer typed (any signed-in user)",
  description:
    "The code in any case. Claim it with POST /api/v1/coupons/issue or /issue/limited and `{ code, userId }`.",
  ...signedIn(),
  request: { params: CodeParams },
  responses: {
    200: jsonResponse(CouponSchema, "The coupon"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "COUPON_NOT_FOUND"),
  },
});

export const listCoupons = createRoute({
  operationId: "listCoupons",
  method: "get",
  path: "/api/v1/coupons",
  tags: ["Coupons"],
  summary: "The coupons an issuer defined, newest first (SELLER: its own; ADMIN: all)",
  description:
    "`status` filters on the status as of now; `issuerId` narrows an ADMIN's list (a SELLER naming another issuer: 403). A BUYER: 403.",
  ...signedIn(),
  request: { query: CouponListQuery },
  responses: {
    200: jsonResponse(CouponPageSchema, "One page of coupons"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN"),
  },
});

export const getCoupon = createRoute({
  operationId: "getCoupon",
  method: "get",
  path: "/api/v1/coupons/{couponId}",
  tags: ["Coupons"],
  summary: "A coupon with its status and remaining units",
  ...signedIn(),
  request: { params: CouponParams },
  responses: {
    200: jsonResponse(CouponSchema, "The coupon"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "COUPON_NOT_FOUND"),
  },
});

/** The three lifecycle routes share one shape (and so one handler type); only the action differs. */
const lifecycleRoute = (operationId: string, action: CouponAction, what: string) =>
  createRoute({
    operationId,
    method: "post",
    path: `/api/v1/coupons/{couponId}/${action}`,
    tags: ["Coupons"],
    summary: `${what} (the issuer or an ADMIN)`,
    description:
      "Takes effect on both issue paths at once. Allowed moves: suspend CREATED, ACTIVE or EXHAUSTED; resume SUSPENDED; cancel anything not EXPIRED or CANCELLED.",
    ...signedIn(),
    request: { params: CouponParams },
    responses: {
      200: jsonResponse(CouponSchema, "The coupon after the change"),
      ...problemResponses(
        "VALIDATION_FAILED",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "COUPON_NOT_FOUND",
        "INVALID_COUPON_TRANSITION",
      ),
    },
  });

export const suspendCoupon = lifecycleRoute("suspendCoupon", "suspend", "Stop issuing and using a coupon for now");
export const resumeCoupon = lifecycleRoute("resumeCoupon", "resume", "Undo a suspension");
export const cancelCoupon = lifecycleRoute("cancelCoupon", "cancel", "End a coupon for good");
export type CouponLifecycleRoute = ReturnType<typeof lifecycleRoute>;

const ISSUE_PROBLEMS: ErrorCode[] = [
  ...BODY_PROBLEMS,
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "COUPON_NOT_FOUND",
  "USER_NOT_FOUND",
  "COUPON_ALREADY_ISSUED",
  "COUPON_SOLD_OUT",
  "COUPON_NOT_ACTIVE",
  "IDEMPOTENCY_KEY_IN_USE",
  "IDEMPOTENCY_KEY_REUSED",
];

/**
 * Both issue routes: a keyed, authenticated POST of `{ couponId, userId }` or `{ code, userId }` answered with
 * the user coupon.
 */
const issueRoute = (
  operationId: string,
  path: string,
  text: { summary: string; description: string; created: string },
  problems: ErrorCode[],
) =>
  createRoute({
    operationId,
    method: "post",
    path,
    tags: ["Coupons"],
    summary: text.summary,
    description: text.description,
    ...signedIn(idempotent),
    request: { headers: IdempotencyKeyHeader, body: jsonBody(IssueCouponSchema) },
    responses: {
      201: jsonResponse(UserCouponSchema, text.created),
      ...problemResponses(...problems),
    },
  });

export const issueCoupon = issueRoute(
  "issueCoupon",
  "/api/v1/coupons/issue",
  {
    summary: "Issue a coupon to a user (database path)",
    description:
      "One per user per coupon, never more than `totalQuantity`: a conditional increment and the insert in one transaction. The coupon by `couponId` or by `code` (any case; exactly one of the two, else 400; an unknown code is 404). The caller is that user, the coupon's issuer or an ADMIN. Honours `Idempotency-Key` (a replay answers the same 201).",
    created: "The issued coupon",
  },
  ISSUE_PROBLEMS,
);

export const issueLimitedCoupon = issueRoute(
  "issueLimitedCoupon",
  "/api/v1/coupons/issue/limited",
  {
    summary: "Claim a limited coupon, first come first served (drops)",
    description:
      "An atomic Redis Lua script decides who is first, exactly `totalQuantity` times across every server instance; the issue is then written to PostgreSQL. The coupon by `couponId` or by `code` (any case; exactly one of the two, else 400; an unknown code is 404). 503 `UNAVAILABLE` (with Retry-After) while Redis is unreachable, and while the caller's own earlier claim is in Redis but not recorded yet (its request may still be running, or died: such a claim is given back after a 30 s grace and the caller claims again). 409 `COUPON_SOLD_OUT` with Retry-After: every unit is claimed but some claims are not recorded yet, so units may come back; without Retry-After it is final. A `COUPON_NOT_ACTIVE` caused by a suspension or cancellation is checked against the database before it is answered. Honours `Idempotency-Key`; an answer with Retry-After is not stored (the key is released for the retry).",
    created: "The claimed coupon",
  },
  [...ISSUE_PROBLEMS, "UNAVAILABLE"],
);
export type CouponIssueRoute = typeof issueCoupon;

export const listUserCoupons = createRoute({
  operationId: "listUserCoupons",
  method: "get",
  path: "/api/v1/coupons/user/{userId}",
  tags: ["Coupons"],
  summary: "The coupons a user holds, newest first, each with its coupon",
  description: "A BUYER or SELLER sees its own; an ADMIN anyone's. `status` filters (EXPIRED: window ended unused).",
  ...signedIn(),
  request: { params: UserParams, query: HeldCouponQuery },
  responses: {
    200: jsonResponse(UserCouponPageSchema, "One page of held coupons"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN", "USER_NOT_FOUND"),
  },
});

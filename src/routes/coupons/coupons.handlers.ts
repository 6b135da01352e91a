import type { CouponAction, IssueRequestByIdOrCode } from "../../domain/coupons/coupon-service";
import type { AppRouteHandler } from "../lib/app-env";
import type {
  CouponIssueRoute,
  CouponLifecycleRoute,
  createCoupon,
  getCoupon,
  getCouponByCode,
  listCoupons,
  listUserCoupons,
} from "./coupons.routes";
import { toCouponJson, toUserCouponJson } from "./coupons.schemas";

export const createCouponHandler: AppRouteHandler<typeof createCoupon> = async (c) => {
  const body = c.req.valid("json");
  const coupon = await c.get("services").coupons.create(c.get("actor"), {
    ...body,
    validFrom: new Date(body.validFrom),
    validUntil: new Date(body.validUntil),
  });
  return c.json(toCouponJson(coupon), 201);
};

export const getCouponHandler: AppRouteHandler<typeof getCoupon> = async (c) => {
  const coupon = await c.get("services").coupons.get(c.req.valid("param").couponId);
  return c.json(toCouponJson(coupon), 200);
};

export const getCouponByCodeHandler: AppRouteHandler<typeof getCouponByCode> = async (c) => {
  const coupon = await c.get("services").coupons.getByCode(c.req.valid("param").code);
  return c.json(toCouponJson(coupon), 200);
};

export const listCouponsHandler: AppRouteHandler<typeof listCoupons> = async (c) => {
  const { status, issuerId, ...page } = c.req.valid("query");
  const found = await c.get("services").coupons.list(c.get("actor"), { status, issuerId }, page);
  return c.json({ ...found, items: found.items.map(toCouponJson) }, 200);
};

const lifecycleHandler =
  (action: CouponAction): AppRouteHandler<CouponLifecycleRoute> =>
  async (c) => {
    const coupon = await c.get("services").coupons.change(c.get("actor"), c.req.valid("param").couponId, action);
    return c.json(toCouponJson(coupon), 200);
  };

export const suspendCouponHandler = lifecycleHandler("suspend");
export const resumeCouponHandler = lifecycleHandler("resume");
export const cancelCouponHandler = lifecycleHandler("cancel");

// A coupon named by its code is looked up first (once per process), then issued exactly as by id.
export const issueCouponHandler: AppRouteHandler<CouponIssueRoute> = async (c) => {
  const request = await c.get("services").coupons.issueRequest(c.req.valid("json") as IssueRequestByIdOrCode);
  const issued = await c.get("services").couponIssue.issue(c.get("actor"), request);
  return c.json(toUserCouponJson(issued), 201);
};

export const issueLimitedCouponHandler: AppRouteHandler<CouponIssueRoute> = async (c) => {
  const request = await c.get("services").coupons.issueRequest(c.req.valid("json") as IssueRequestByIdOrCode);
  const issued = await c.get("services").couponIssue.issueLimited(c.get("actor"), request);
  return c.json(toUserCouponJson(issued), 201);
};

export const listUserCouponsHandler: AppRouteHandler<typeof listUserCoupons> = async (c) => {
  const { status, ...page } = c.req.valid("query");
  const held = await c.get("services").coupons.listHeld(c.get("actor"), c.req.valid("param").userId, status, page);
  return c.json({ ...held, items: held.items.map(toUserCouponJson) }, 200);
};

import { createRouter } from "../lib/create-router";
import {
  cancelCouponHandler,
  createCouponHandler,
  getCouponByCodeHandler,
  getCouponHandler,
  issueCouponHandler,
  issueLimitedCouponHandler,
  listCouponsHandler,
  listUserCouponsHandler,
  resumeCouponHandler,
  suspendCouponHandler,
} from "./coupons.handlers";
import {
  cancelCoupon,
  createCoupon,
  getCoupon,
  getCouponByCode,
  issueCoupon,
  issueLimitedCoupon,
  listCoupons,
  listUserCoupons,
  resumeCoupon,
  suspendCoupon,
} from "./coupons.routes";

export const couponsRouter = createRouter()
  .openapi(createCoupon, createCouponHandler)
  .openapi(listCoupons, listCouponsHandler)
  .openapi(getCouponByCode, getCouponByCodeHandler)
  .openapi(issueCoupon, issueCouponHandler)
  .openapi(issueLimitedCoupon, issueLimitedCouponHandler)
  .openapi(listUserCoupons, listUserCouponsHandler)
  .openapi(getCoupon, getCouponHandler)
  .openapi(suspendCoupon, suspendCouponHandler)
  .openapi(resumeCoupon, resumeCouponHandler)
  .openapi(cancelCoupon, cancelCouponHandler);

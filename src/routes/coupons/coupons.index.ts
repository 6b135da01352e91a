import { createRouter } from "../lib/create-router";
import {
  cancelCouponHandler,
  createCouponHandler,
  getCouponHandler,
  issueCouponHandler,
  issueLimitedCouponHandler,
  listUserCouponsHandler,
  resumeCouponHandler,
  suspendCouponHandler,
} from "./coupons.handlers";
import {
  cancelCoupon,
  createCoupon,
  getCoupon,
  issueCoupon,
  issueLimitedCoupon,
  listUserCoupons,
  resumeCoupon,
  suspendCoupon,
} from "./coupons.routes";

export const couponsRouter = createRouter()
  .openapi(createCoupon, createCouponHandler)
  .openapi(issueCoupon, issueCouponHandler)
  .openapi(issueLimitedCoupon, issueLimitedCouponHandler)
  .openapi(listUserCoupons, listUserCouponsHandler)
  .openapi(getCoupon, getCouponHandler)
  .openapi(suspendCoupon, suspendCouponHandler)
  .openapi(resumeCoupon, resumeCouponHandler)
  .openapi(cancelCoupon, cancelCouponHandler);

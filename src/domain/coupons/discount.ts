import type { Coupon } from "./coupon";

/**
 * The KRW a coupon takes off an order's subtotal (contract: "Orders"). PERCENTAGE: floor(subtotal · rate / 100),
 * capped by `maxDiscountAmount` when there is one. FIXED: the amount, capped at the subtotal (a discount never
 * makes an order negative). Integer arithmetic only: subtotals stay far below 2^53 / 100.
 */
export function discountFor(
  coupon: Pick<Coupon, "type" | "discountValue" | "maxDiscountAmount">,
  subtotal: number,
): number {
  if (!Number.isSafeInteger(subtotal) || subtotal < 0) {
    throw new RangeError(`subtotal must be a non-negative integer number of KRW (got ${subtotal})`);
  }
  if (coupon.type === "FIXED") return Math.min(coupon.discountValue, subtotal);
  const byRate = Math.floor((subtotal * coupon.discountValue) / 100);
  return coupon.maxDiscountAmount === null ? byRate : Math.min(byRate, coupon.maxDiscountAmount);
}

import { describe, expect, it } from "bun:test";
import { allocateDiscount } from "../../src/domain/orders/pricing";

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe("allocateDiscount", () => {
  it("gives no line a share when there is no discount", () => {
    expect(allocateDiscount([1000, 2000], 0)).toEqual([0, 0]);
  });

  it("splits in proportion to the line totals", () => {
    expect(allocateDiscount([100_000, 300_000], 40_000)).toEqual([10_000, 30_000]);
  });

  it("hands the won left over by rounding to the largest remainders, earlier lines first", () => {
    expect(allocateDiscount([1, 1, 1], 2)).toEqual([1, 1, 0]);
    expect(allocateDiscount([10, 10, 10], 10)).toEqual([4, 3, 3]);
    expect(allocateDiscount([3, 7], 5)).toEqual([2, 3]);
    expect(allocateDiscount([3, 7], 4)).toEqual([1, 3]);
  });

  it("never exceeds a line and covers the subtotal at most", () => {
    expect(allocateDiscount([500, 1500], 5000)).toEqual([500, 1500]);
  });

  it("adds up to the discount exactly, also with totals whose products pass 2^53", () => {
    const lines = [999_999_999 * 100, 123_456_789 * 37, 1];
    const discount = 98_765_432_101;
    const shares = allocateDiscount(lines, discount);
    expect(sum(shares)).toBe(discount);
    shares.forEach((share, i) => {
      expect(share).toBeGreaterThanOrEqual(0);
      expect(share).toBeLessThanOrEqual(lines[i]!);
    });
  });

  it("adds up exactly for many random orders", () => {
    for (let round = 0; round < 500; round++) {
      const lines = Array.from({ length: 1 + (round % 7) }, (_, i) => 1000 * (1 + ((round * 31 + i * 17) % 400)));
      const discount = (round * 7919) % (sum(lines) + 1);
      expect(sum(allocateDiscount(lines, discount))).toBe(discount);
    }
  });
});

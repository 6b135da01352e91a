import { describe, expect, it } from "bun:test";
import type { Order, OrderLine } from "../../src/domain/orders/order";
import {
  POPULAR_CACHE_MACHINE,
  POPULAR_CACHE_STATES,
  POPULAR_CACHE_TRANSITIONS,
} from "../../src/domain/sales/popular-cache-state";
import { refundShares, type SalesDelta, salesOfPayment, salesOfRefund } from "../../src/domain/sales/sales-deltas";
import {
  addDays,
  daysBetween,
  isDay,
  lastDays,
  monthStart,
  seoulDay,
  seoulDayStart,
  weekStart,
} from "../../src/domain/sales/seoul-days";

describe("Seoul days", () => {
  it("turns at 15:00 UTC", () => {
    expect(seoulDay(new Date("2026-11-30T14:59:59.999Z"))).toBe("2026-11-30");
    expect(seoulDay(new Date("2026-11-30T15:00:00.000Z"))).toBe("2026-12-01");
    expect(seoulDayStart("2026-12-01").toISOString()).toBe("2026-11-30T15:00:00.000Z");
  });

  it("counts, steps and rounds days across months, years and a leap day", () => {
    expect(addDays("2028-02-28", 1)).toBe("2028-02-29");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(daysBetween("2026-12-01", "2026-12-01")).toBe(1);
    expect(daysBetween("2026-01-01", "2026-12-31")).toBe(365);
    expect(weekStart("2026-12-03")).toBe("2026-11-30"); // a Thursday → its Monday
    expect(weekStart("2026-11-30")).toBe("2026-11-30");
    expect(weekStart("2026-12-06")).toBe("2026-11-30"); // Sunday ends the week
    expect(monthStart("2026-12-31")).toBe("2026-12-01");
    expect(lastDays(new Date("2026-12-02T16:00:00Z"), 3)).toEqual({ from: "2026-12-01", to: "2026-12-03" });
  });

  it("accepts real calendar dates only", () => {
    for (const day of ["2026-12-01", "2028-02-29"]) expect(isDay(day)).toBe(true);
    for (const text of ["2026-02-29", "2026-13-01", "2026-12-32", "2026-1-01", "20261201", "", "2026-12-01T00:00"]) {
      expect(isDay(text)).toBe(false);
    }
  });
});

const line = (productId: string, fields: Partial<OrderLine> = {}): OrderLine => ({
  productId,
  sellerId: "seller-a",
  productName: productId,
  category: "Running",
  unitPrice: 10_000,
  quantity: 1,
  lineTotal: 10_000,
  discountShare: 0,
  refundedAmount: 0,
  ...fields,
});
const order = (items: OrderLine[], fields: Partial<Order> = {}): Order =>
  ({
    id: "order-1",
    items,
    paidAt: new Date("2026-12-01T03:00:00Z"),
    refundedAmount: 0,
    ...fields,
  }) as Order;
const sum = (deltas: SalesDelta[], field: keyof SalesDelta) =>
  deltas.reduce((total, delta) => total + (delta[field] as number), 0);

describe("the sales a payment adds", () => {
  const paid = order([
    line("p3", { sellerId: "seller-b", quantity: 2, lineTotal: 20_000, discountShare: 1_001 }),
    line("p1", { discountShare: 500 }),
    line("p2", { category: "Court", quantity: 3, lineTotal: 30_000, discountShare: 1_499 }),
  ]);

  it("records each line on the Seoul day it was paid, in product order, at what was paid for it", () => {
    const deltas = salesOfPayment(paid);
    expect(deltas.map((d) => [d.salesDay, d.productId, d.quantity, d.salesAmount])).toEqual([
      ["2026-12-01", "p1", 1, 9_500],
      ["2026-12-01", "p2", 3, 28_501],
      ["2026-12-01", "p3", 2, 18_999],
    ]);
  });

  it("counts the order once overall, once per seller, per category and per seller and category", () => {
    const deltas = salesOfPayment(paid);
    expect(sum(deltas, "orders")).toBe(1);
    expect(sum(deltas, "orderLines")).toBe(3);
    expect(deltas.map((d) => d.sellerOrders)).toEqual([1, 0, 1]); // seller-a: p1 first; seller-b: p3
    expect(deltas.map((d) => d.categoryOrders)).toEqual([1, 1, 0]); // Running: p1; Court: p2
    expect(deltas.map((d) => d.sellerCategoryOrders)).toEqual([1, 1, 1]);
  });

  it("refuses an order that has no payment time", () => {
    expect(() => salesOfPayment(order([line("p1")], { paidAt: null }))).toThrow();
  });
});

describe("the sales a refund takes back", () => {
  const items = [line("p1", { lineTotal: 10_000 }), line("p2", { lineTotal: 20_000, quantity: 2 })];

  it("splits a partial refund over the lines by what each has left, leaving units and orders counted", () => {
    const shares = refundShares(order(items), 3_000);
    expect(shares).toEqual([1_000, 2_000]);
    const deltas = salesOfRefund(order(items, { refundedAmount: 3_000 }), shares, false);
    expect(deltas.map((d) => [d.productId, d.quantity, d.salesAmount, d.orders, d.orderLines])).toEqual([
      ["p1", 0, -1_000, 0, 0],
      ["p2", 0, -2_000, 0, 0],
    ]);
  });

  /** Lands `cuts` one after the other as the recorder does, returning each refund's shares. */
  function land(lines: OrderLine[], cuts: number[]) {
    const current = lines.map((l) => ({ ...l }));
    return cuts.map((amount) => {
      const shares = refundShares(order(current), amount);
      const sorted = [...current].sort((a, b) => (a.productId < b.productId ? -1 : 1));
      sorted.forEach((l, index) => {
        l.refundedAmount += shares[index] as number;
      });
      return { shares, lines: sorted.map((l) => ({ ...l })) };
    });
  }

  it("adds up, over refunds cut any way, to exactly what each line was paid, never above it", () => {
    for (const cuts of [[1, 1, 29_998], [7, 13, 29_980], [10_001, 9_999, 10_000], [30_000]]) {
      const landed = land(items, cuts);
      landed.forEach(({ shares }, index) => {
        expect(shares.reduce((a, b) => a + b, 0)).toBe(cuts[index]!);
      });
      const last = landed.at(-1)!.lines;
      expect(last.map((l) => [l.productId, l.refundedAmount])).toEqual([
        ["p1", 10_000],
        ["p2", 20_000],
      ]);
    }
  });

  it("never gives a line back what an earlier refund took (no rounding paradox)", () => {
    // 10,000 / 30,000 / 30,000: a running largest-remainder split moved a won back to the first line here.
    const three = [
      line("a", { lineTotal: 10_000 }),
      line("b", { lineTotal: 30_000 }),
      line("c", { lineTotal: 30_000 }),
    ];
    for (const cuts of [
      [3, 1],
      [1, 1, 1, 1, 1],
      [2, 5, 3, 7],
    ]) {
      for (const { shares } of land(three, cuts)) expect(shares.every((share) => share >= 0)).toBe(true);
    }
  });

  it("takes the units and the order counts back with the refund that completes it", () => {
    const paid = salesOfPayment(order(items));
    const full = salesOfRefund(order(items, { refundedAmount: 30_000 }), refundShares(order(items), 30_000), true);
    for (const field of [
      "quantity",
      "salesAmount",
      "orderLines",
      "orders",
      "sellerOrders",
      "categoryOrders",
      "sellerCategoryOrders",
    ] as const) {
      expect(sum(full, field)).toBe(-sum(paid, field));
    }
  });
});

describe("the popular-products cache cycle", () => {
  it("allows the spec's cycle and the moves other instances make, nothing else", () => {
    const allowed = POPULAR_CACHE_STATES.flatMap((from) =>
      POPULAR_CACHE_STATES.filter((to) => POPULAR_CACHE_MACHINE.can(from, to)).map((to) => `${from}→${to}`),
    );
    expect(allowed.sort()).toEqual(
      [
        "IDLE→AGGREGATING",
        "AGGREGATING→CACHE_UPDATED",
        "CACHE_UPDATED→EXPIRED",
        "EXPIRED→AGGREGATING",
        "CACHE_UPDATED→AGGREGATING",
        "AGGREGATING→IDLE",
        "AGGREGATING→EXPIRED",
        "IDLE→CACHE_UPDATED",
        "EXPIRED→CACHE_UPDATED",
        "CACHE_UPDATED→IDLE",
        "EXPIRED→IDLE",
      ].sort(),
    );
    expect(POPULAR_CACHE_TRANSITIONS.every((t) => t.why.length > 0)).toBe(true);
    for (const state of POPULAR_CACHE_STATES) expect(POPULAR_CACHE_MACHINE.can(state, state)).toBe(false);
  });
});

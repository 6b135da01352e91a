import { describe, expect, it } from "bun:test";
import {
  CANCEL_BY_REFUND_STATUSES,
  ORDER_MACHINE,
  ORDER_STATUSES,
  type OrderEvent,
  REFUNDABLE_STATUSES,
  UNITS_WITH_BUYER_STATUSES,
} from "../../src/domain/orders/order-status";

/** Every move the contract allows, and nothing else. */
const ALLOWED: Record<string, string[]> = {
  pay: ["CREATED→CONFIRMED"],
  advance: ["CONFIRMED→PREPARING", "PREPARING→SHIPPED", "SHIPPED→DELIVERED", "DELIVERED→COMPLETED"],
  autoComplete: ["DELIVERED→COMPLETED"],
  cancel: ["CREATED→CANCELLED", "CONFIRMED→CANCELLED", "PREPARING→CANCELLED"],
  refund: [
    "CONFIRMED→CANCELLED",
    "PREPARING→CANCELLED",
    "SHIPPED→CANCELLED",
    "DELIVERED→CANCELLED",
    "COMPLETED→CANCELLED",
  ],
};

describe("the order machine", () => {
  for (const by of ["pay", "advance", "autoComplete", "cancel", "refund"] as OrderEvent[]) {
    it(`allows exactly the contract's ${by} moves, over every pair of statuses`, () => {
      const allowed: string[] = [];
      for (const from of ORDER_STATUSES) {
        for (const to of ORDER_STATUSES) if (ORDER_MACHINE.find(from, to, by)) allowed.push(`${from}→${to}`);
      }
      expect(allowed).toEqual(ALLOWED[by]!);
    });
  }

  it("lets sellers and admins fulfil up to DELIVERED, and only the buyer or an admin confirm receipt", () => {
    expect(ORDER_MACHINE.find("DELIVERED", "COMPLETED", "advance")?.parties).toEqual(["buyer", "admin"]);
    for (const [from, to] of [
      ["CONFIRMED", "PREPARING"],
      ["PREPARING", "SHIPPED"],
      ["SHIPPED", "DELIVERED"],
    ] as const) {
      expect(ORDER_MACHINE.find(from, to, "advance")?.parties).toEqual(["seller", "admin"]);
    }
  });

  it("never leaves CANCELLED, and leaves COMPLETED only by a full refund", () => {
    for (const to of ORDER_STATUSES) {
      for (const by of ["pay", "advance", "autoComplete", "cancel", "refund"] as OrderEvent[]) {
        expect(ORDER_MACHINE.find("CANCELLED", to, by)).toBeUndefined();
        if (by !== "refund") expect(ORDER_MACHINE.find("COMPLETED", to, by)).toBeUndefined();
      }
    }
  });

  it("sends the units of a refund in full back on sale before shipping, and awaits their return from SHIPPED on", () => {
    expect(CANCEL_BY_REFUND_STATUSES).toEqual(["CONFIRMED", "PREPARING"]);
    expect(UNITS_WITH_BUYER_STATUSES).toEqual(["SHIPPED", "DELIVERED", "COMPLETED"]);
    expect([...CANCEL_BY_REFUND_STATUSES, ...UNITS_WITH_BUYER_STATUSES].sort()).toEqual(
      [...REFUNDABLE_STATUSES].sort(),
    );
  });
});

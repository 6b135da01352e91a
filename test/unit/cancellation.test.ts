import { describe, expect, it } from "bun:test";
import { unitsBackFrom } from "../../src/domain/orders/cancellation";
import { ORDER_TRANSITIONS } from "../../src/domain/orders/order-status";

const cancellableFrom: string[] = [
  ...new Set(ORDER_TRANSITIONS.filter((t) => t.to === "CANCELLED").map((t) => t.from)),
];

describe("where a cancelled order's units go", () => {
  it("releases an unpaid order's reserved units", () => {
    expect(unitsBackFrom("CREATED")).toBe("release");
  });

  it("puts a paid order's units back on sale while they are still in the shop", () => {
    expect(unitsBackFrom("CONFIRMED")).toBe("restock");
    expect(unitsBackFrom("PREPARING")).toBe("restock");
  });

  it("awaits the return of units that have shipped", () => {
    for (const from of ["SHIPPED", "DELIVERED", "COMPLETED"] as const) expect(unitsBackFrom(from)).toBe("awaitReturn");
  });

  it("has an answer for every status an order can be cancelled from", () => {
    expect(cancellableFrom.sort()).toEqual(
      ["COMPLETED", "CONFIRMED", "CREATED", "DELIVERED", "PREPARING", "SHIPPED"].sort(),
    );
  });
});

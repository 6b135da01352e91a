import { describe, expect, it } from "bun:test";
import { COUPON_MACHINE } from "../../src/domain/coupons/coupon-status";
import { USER_COUPON_MACHINE } from "../../src/domain/coupons/user-coupon-status";
import { ORDER_MACHINE } from "../../src/domain/orders/order-status";
import { EVENT_MACHINE } from "../../src/domain/outbox/event-status";
import { PAYMENT_MACHINE } from "../../src/domain/payments/payment-status";
import { REFUND_MACHINE } from "../../src/domain/refunds/refund-status";
import { POPULAR_CACHE_MACHINE } from "../../src/domain/sales/popular-cache-state";
import { DomainError } from "../../src/domain/shared/errors";
import { defineMachine, transitionsFrom, transitionsOfMoves } from "../../src/domain/shared/state-machine";

const LIGHTS = ["RED", "GREEN", "AMBER"] as const;
type Light = (typeof LIGHTS)[number];

const lights = defineMachine({
  name: "light",
  statuses: LIGHTS,
  transitions: [
    { from: "RED", to: "GREEN", by: "go" },
    { from: "GREEN", to: "AMBER", by: "slow" },
    { from: "AMBER", to: "RED", by: "stop" },
    { from: "GREEN", to: "RED", by: "stop" },
  ] as { from: Light; to: Light; by: "go" | "slow" | "stop" }[],
});

describe("a machine built with defineMachine", () => {
  it("allows exactly the moves of its table, by any or by the named event", () => {
    expect(lights.can("RED", "GREEN")).toBe(true);
    expect(lights.can("RED", "GREEN", "go")).toBe(true);
    expect(lights.can("RED", "GREEN", "stop")).toBe(false);
    expect(lights.can("RED", "AMBER")).toBe(false);
  });

  it("names the statuses a move may start from, in the order of its statuses", () => {
    expect(lights.sourcesOf("RED")).toEqual(["GREEN", "AMBER"]);
    expect(lights.sourcesOf("RED", "stop")).toEqual(["GREEN", "AMBER"]);
    expect(lights.sourcesOf("GREEN", "stop")).toEqual([]);
    expect(lights.targetsOf("GREEN")).toEqual(["RED", "AMBER"]);
  });

  it("refuses a move it does not have with a plain error unless told what to throw", () => {
    expect(() => lights.assert("RED", "GREEN", { by: "go" })).not.toThrow();
    expect(() => lights.assert("RED", "AMBER")).toThrow(/light machine has no move RED → AMBER/);
  });

  it("gives a repository a move whose sources come from the table, narrowed only within it", () => {
    expect(lights.move("RED", { by: "stop" })).toEqual({ from: ["GREEN", "AMBER"], to: "RED" });
    expect(lights.move("RED", { only: ["AMBER"] })).toEqual({ from: ["AMBER"], to: "RED" });
    expect(() => lights.move("RED", { only: ["RED"] })).toThrow(/does not move RED to RED/);
    expect(() => lights.move("GREEN", { by: "stop" })).toThrow(/does not move anything to GREEN by stop/);
  });

  it("refuses a table that names a status the machine does not have", () => {
    expect(() =>
      defineMachine({ name: "broken", statuses: ["A"] as const, transitions: [{ from: "A", to: "B" as "A" }] }),
    ).toThrow(/unknown status/);
  });

  it("builds the same transitions from a table of targets or from named moves", () => {
    expect(transitionsFrom<Light>({ RED: ["GREEN"], GREEN: [], AMBER: [] })).toEqual([{ from: "RED", to: "GREEN" }]);
    expect(transitionsOfMoves<Light, "stop">({ stop: { from: ["GREEN", "AMBER"], to: "RED" } })).toEqual([
      { from: "GREEN", to: "RED", by: "stop" },
      { from: "AMBER", to: "RED", by: "stop" },
    ]);
  });
});

describe("the shop's machines", () => {
  const machines = [
    ORDER_MACHINE,
    PAYMENT_MACHINE,
    REFUND_MACHINE,
    COUPON_MACHINE,
    USER_COUPON_MACHINE,
    EVENT_MACHINE,
    POPULAR_CACHE_MACHINE,
  ];

  it("are seven, each built with the one shape", () => {
    expect(machines.map((machine) => machine.name)).toEqual([
      "order",
      "payment",
      "refund",
      "coupon",
      "user coupon",
      "outbox event",
      "popular cache",
    ]);
    for (const machine of machines) expect(machine.transitions.length).toBeGreaterThan(0);
  });

  it("refuse an order or coupon move with the contract's code", () => {
    const refusal = (attempt: () => void) => {
      try {
        attempt();
      } catch (error) {
        return error;
      }
    };
    const order = refusal(() => ORDER_MACHINE.assert("CANCELLED", "CONFIRMED"));
    expect(order).toBeInstanceOf(DomainError);
    expect(order).toMatchObject({ code: "INVALID_ORDER_TRANSITION", extensions: { currentStatus: "CANCELLED" } });
    const coupon = refusal(() => COUPON_MACHINE.assert("EXPIRED", "SUSPENDED", { action: "suspend" }));
    expect(coupon).toMatchObject({
      code: "INVALID_COUPON_TRANSITION",
      message: "Cannot suspend a coupon that is EXPIRED",
    });
  });
});

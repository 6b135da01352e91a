import { describe, expect, it } from "bun:test";
import {
  isPaymentPath,
  PAYMENT_MACHINE,
  PAYMENT_STATUSES,
  START_WALKS,
} from "../../src/domain/payments/payment-status";
import { REFUND_MACHINE, REFUND_STATUSES, UNFINISHED_REFUND_STATUSES } from "../../src/domain/refunds/refund-status";

const pairs = <T extends string>(statuses: readonly T[], can: (a: T, b: T) => boolean) =>
  statuses.flatMap((from) => statuses.filter((to) => can(from, to)).map((to) => `${from}→${to}`));

describe("the payment machine", () => {
  it("allows each step in order, a failure before the outcome, and nothing after it", () => {
    expect(pairs(PAYMENT_STATUSES, PAYMENT_MACHINE.can)).toEqual([
      "INITIATED→VALIDATING",
      "INITIATED→FAILED",
      "VALIDATING→LOCK_ACQUIRED",
      "VALIDATING→FAILED",
      "LOCK_ACQUIRED→DEBITED",
      "LOCK_ACQUIRED→FAILED",
      "DEBITED→GATEWAY_REQUESTED",
      "DEBITED→FAILED",
      "GATEWAY_REQUESTED→COMPLETED",
      "GATEWAY_REQUESTED→FAILED",
    ]);
  });

  it("knows the final statuses and what each status may be reached from", () => {
    expect(PAYMENT_STATUSES.filter(PAYMENT_MACHINE.isFinal)).toEqual(["COMPLETED", "FAILED"]);
    expect(PAYMENT_MACHINE.sourcesOf("COMPLETED")).toEqual(["GATEWAY_REQUESTED"]);
    expect(PAYMENT_MACHINE.sourcesOf("FAILED")).toEqual([
      "INITIATED",
      "VALIDATING",
      "LOCK_ACQUIRED",
      "DEBITED",
      "GATEWAY_REQUESTED",
    ]);
    expect(PAYMENT_MACHINE.sourcesOf("INITIATED")).toEqual([]);
  });

  it("accepts steps taken together only as a walk of the machine, each from the one before", () => {
    expect(isPaymentPath(["INITIATED", "VALIDATING"])).toBe(true);
    expect(isPaymentPath(["LOCK_ACQUIRED", "DEBITED", "GATEWAY_REQUESTED"])).toBe(true);
    expect(isPaymentPath(["LOCK_ACQUIRED", "FAILED"])).toBe(true);
    expect(isPaymentPath(["COMPLETED"])).toBe(true);
    expect(isPaymentPath(["LOCK_ACQUIRED", "GATEWAY_REQUESTED"])).toBe(false);
    expect(isPaymentPath(["DEBITED", "LOCK_ACQUIRED"])).toBe(false);
    expect(isPaymentPath(["FAILED", "COMPLETED"])).toBe(false);
    expect(isPaymentPath([])).toBe(false);
  });

  it("starts a payment only along walks of the machine, from INITIATED", () => {
    for (const walk of Object.values(START_WALKS)) {
      expect(isPaymentPath(walk)).toBe(true);
      expect(walk[0]).toBe("INITIATED");
    }
    expect(START_WALKS.requested.at(-1)).toBe("GATEWAY_REQUESTED");
  });
});

describe("the refund machine", () => {
  it("tries, lands or fails, retries a failure, and leaves nothing once REFUNDED or MANUAL", () => {
    expect(pairs(REFUND_STATUSES, REFUND_MACHINE.can)).toEqual([
      "REFUND_REQUESTED→PROCESSING",
      "REFUND_REQUESTED→REFUNDED",
      "PROCESSING→PROCESSING",
      "PROCESSING→REFUNDED",
      "PROCESSING→FAILED",
      "PROCESSING→MANUAL",
      "FAILED→PROCESSING",
    ]);
    expect(REFUND_MACHINE.sourcesOf("PROCESSING")).toEqual(["REFUND_REQUESTED", "PROCESSING", "FAILED"]);
    expect(REFUND_MACHINE.sourcesOf("REFUNDED")).toEqual(["REFUND_REQUESTED", "PROCESSING"]);
    expect(REFUND_MACHINE.sourcesOf("MANUAL")).toEqual(["PROCESSING"]);
    expect(UNFINISHED_REFUND_STATUSES).toEqual(["REFUND_REQUESTED", "PROCESSING", "FAILED"]);
  });
});

import { describe, expect, it } from "bun:test";
import { type CouponAction, lifecycleAfter } from "../../src/domain/coupons/coupon-service";
import {
  COUPON_MACHINE,
  COUPON_STATUSES,
  type CouponStatus,
  couponStatus,
  type IssueRefusal,
  issueRefusal,
} from "../../src/domain/coupons/coupon-status";
import { couponIn, couponRecord, NOW } from "../support/coupon-factory";
import { domainErrorOf } from "../support/domain-error";

// Written out by hand from the contract, not derived from the table under test.
const ALLOWED = new Set([
  "CREATED>ACTIVE",
  "CREATED>EXPIRED",
  "CREATED>SUSPENDED",
  "CREATED>CANCELLED",
  "ACTIVE>EXHAUSTED",
  "ACTIVE>EXPIRED",
  "ACTIVE>SUSPENDED",
  "ACTIVE>CANCELLED",
  "EXHAUSTED>EXPIRED",
  "EXHAUSTED>SUSPENDED",
  "EXHAUSTED>CANCELLED",
  "SUSPENDED>CREATED",
  "SUSPENDED>ACTIVE",
  "SUSPENDED>EXHAUSTED",
  "SUSPENDED>EXPIRED",
  "SUSPENDED>CANCELLED",
]);
const pairs = COUPON_STATUSES.flatMap((from) => COUPON_STATUSES.map((to) => [from, to] as const));

describe("the coupon state machine", () => {
  it.each(pairs)("%s → %s is allowed exactly when the contract says so", async (from, to) => {
    const allowed = ALLOWED.has(`${from}>${to}`);
    expect(COUPON_MACHINE.can(from, to)).toBe(allowed);
    if (allowed) {
      expect(() => COUPON_MACHINE.assert(from, to)).not.toThrow();
    } else {
      const error = await domainErrorOf((async () => COUPON_MACHINE.assert(from, to))());
      expect(error.code).toBe("INVALID_COUPON_TRANSITION");
    }
  });

  it("has no way out of EXPIRED or CANCELLED", () => {
    for (const to of COUPON_STATUSES) {
      expect(COUPON_MACHINE.can("EXPIRED", to)).toBe(false);
      expect(COUPON_MACHINE.can("CANCELLED", to)).toBe(false);
    }
  });
});

describe("couponStatus", () => {
  it.each(COUPON_STATUSES)("reads %s from the columns and the clock", (status) => {
    expect(couponStatus(couponIn(status), NOW)).toBe(status);
  });

  it("opens at validFrom exactly and closes at validUntil exactly", () => {
    const coupon = couponRecord({ validFrom: NOW, validUntil: new Date(NOW.getTime() + 1000) });
    expect(couponStatus(coupon, new Date(NOW.getTime() - 1))).toBe("CREATED");
    expect(couponStatus(coupon, NOW)).toBe("ACTIVE");
    expect(couponStatus(coupon, new Date(NOW.getTime() + 999))).toBe("ACTIVE");
    expect(couponStatus(coupon, new Date(NOW.getTime() + 1000))).toBe("EXPIRED");
  });

  it("ranks CANCELLED over EXPIRED over SUSPENDED over CREATED and EXHAUSTED", () => {
    const ended = { validFrom: new Date(NOW.getTime() - 2000), validUntil: new Date(NOW.getTime() - 1000) };
    expect(couponStatus(couponRecord({ ...ended, cancelledAt: NOW, suspendedAt: NOW }), NOW)).toBe("CANCELLED");
    expect(couponStatus(couponRecord({ ...ended, suspendedAt: NOW }), NOW)).toBe("EXPIRED");
    expect(couponStatus(couponIn("CREATED", { suspendedAt: NOW }), NOW)).toBe("SUSPENDED");
    expect(couponStatus(couponIn("EXHAUSTED", { suspendedAt: NOW }), NOW)).toBe("SUSPENDED");
  });
});

describe("issuer actions", () => {
  // status before → [status after, or the refusal] for suspend, resume, cancel.
  const outcomes: Record<CouponStatus, Record<CouponAction, CouponStatus | "refused">> = {
    CREATED: { suspend: "SUSPENDED", resume: "refused", cancel: "CANCELLED" },
    ACTIVE: { suspend: "SUSPENDED", resume: "refused", cancel: "CANCELLED" },
    EXHAUSTED: { suspend: "SUSPENDED", resume: "refused", cancel: "CANCELLED" },
    SUSPENDED: { suspend: "refused", resume: "ACTIVE", cancel: "CANCELLED" },
    EXPIRED: { suspend: "refused", resume: "refused", cancel: "refused" },
    CANCELLED: { suspend: "refused", resume: "refused", cancel: "refused" },
  };
  const cases = COUPON_STATUSES.flatMap((status) =>
    (["suspend", "resume", "cancel"] as const).map((action) => [action, status, outcomes[status][action]] as const),
  );

  it.each(cases)("%s on a %s coupon → %s", async (action, status, expected) => {
    const coupon = couponIn(status);
    if (expected === "refused") {
      const error = await domainErrorOf((async () => lifecycleAfter(action, coupon, NOW))());
      expect(error.code).toBe("INVALID_COUPON_TRANSITION");
    } else {
      expect(couponStatus({ ...coupon, ...lifecycleAfter(action, coupon, NOW) }, NOW)).toBe(expected);
    }
  });

  it("resumes a suspended coupon into what its window and count say", () => {
    const resumed = (coupon: ReturnType<typeof couponIn>) =>
      couponStatus({ ...coupon, ...lifecycleAfter("resume", coupon, NOW) }, NOW);
    expect(resumed(couponIn("CREATED", { suspendedAt: NOW }))).toBe("CREATED");
    expect(resumed(couponIn("EXHAUSTED", { suspendedAt: NOW }))).toBe("EXHAUSTED");
  });
});

describe("issueRefusal", () => {
  const expected: Record<CouponStatus, [IssueRefusal | undefined, IssueRefusal | undefined]> = {
    // [not holding, holding]
    ACTIVE: [undefined, "COUPON_ALREADY_ISSUED"],
    EXHAUSTED: ["COUPON_SOLD_OUT", "COUPON_ALREADY_ISSUED"],
    CREATED: ["COUPON_NOT_ACTIVE", "COUPON_NOT_ACTIVE"],
    EXPIRED: ["COUPON_NOT_ACTIVE", "COUPON_NOT_ACTIVE"],
    SUSPENDED: ["COUPON_NOT_ACTIVE", "COUPON_NOT_ACTIVE"],
    CANCELLED: ["COUPON_NOT_ACTIVE", "COUPON_NOT_ACTIVE"],
  };
  it.each(COUPON_STATUSES)("asks open? then held? then left? for a %s coupon", (status) => {
    expect([issueRefusal(status, false), issueRefusal(status, true)]).toEqual(expected[status]);
  });
});

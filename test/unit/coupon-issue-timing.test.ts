import { describe, expect, it } from "bun:test";
import { assertTimingAgrees, DEFAULT_ISSUE_TIMING } from "../../src/domain/coupons/issue-timing";
import { IN_FLIGHT_LEASE_MS, isFinal } from "../../src/domain/idempotency/idempotency-service";

describe("the orphan grace and the idempotency lease", () => {
  it("agree by default: a dead request's claim is past the grace before a keyed retry can take its key over", () => {
    expect(() => assertTimingAgrees(DEFAULT_ISSUE_TIMING)).not.toThrow();
    expect(DEFAULT_ISSUE_TIMING.stateWaitMs + DEFAULT_ISSUE_TIMING.orphanGraceMs).toBeLessThan(IN_FLIGHT_LEASE_MS);
  });

  it("are refused when the grace outlasts the lease (the 120 s grace against a 60 s lease)", () => {
    expect(() => assertTimingAgrees({ ...DEFAULT_ISSUE_TIMING, orphanGraceMs: 120_000 })).toThrow(/lease/);
  });
});

describe("which answers an Idempotency-Key keeps", () => {
  it("keeps final answers, never a 5xx nor one that says when to retry", () => {
    const answer = (status: number, headers: Record<string, string> = {}) => ({ status, body: "{}", headers });
    expect(isFinal(answer(201))).toBe(true);
    expect(isFinal(answer(409))).toBe(true);
    expect(isFinal(answer(409, { "retry-after": "2" }))).toBe(false);
    expect(isFinal(answer(503, { "retry-after": "2" }))).toBe(false);
    expect(isFinal(answer(500))).toBe(false);
  });
});

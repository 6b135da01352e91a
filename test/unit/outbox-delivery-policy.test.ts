import { describe, expect, it } from "bun:test";
import { decideAfterFailure } from "../../src/domain/outbox/delivery-policy";
import { MAX_RETRY_DELAY_MS, retryDelayMs } from "../../src/domain/shared/backoff";

const now = new Date("2026-11-25T10:00:00.000Z");
const policy = (random: () => number) => ({ maxAttempts: 8, baseDelayMs: 1000, random });
const justBelowOne = () => 0.999_999;

describe("retryDelayMs (exponential backoff, full jitter)", () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [8, 128_000],
  ])("waits less than base·2^(n-1) after the try %i: under %i ms", (attempts, ceiling) => {
    expect(retryDelayMs(attempts, 1000, justBelowOne)).toBe(ceiling - 1);
    expect(retryDelayMs(attempts, 1000, () => 0)).toBe(0);
    expect(retryDelayMs(attempts, 1000, () => 0.5)).toBe(ceiling / 2);
  });

  it("is capped at 5 minutes however many tries were made", () => {
    expect(retryDelayMs(20, 1000, justBelowOne)).toBe(MAX_RETRY_DELAY_MS - 1);
    expect(retryDelayMs(1000, 1000, justBelowOne)).toBe(MAX_RETRY_DELAY_MS - 1);
    expect(MAX_RETRY_DELAY_MS).toBe(300_000);
  });

  it("spreads real random delays over the whole window", () => {
    const delays = Array.from({ length: 200 }, () => retryDelayMs(3, 1000));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(4000);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });
});

describe("decideAfterFailure", () => {
  it("retries a retryable failure after its backoff while tries are left", () => {
    const decision = decideAfterFailure(
      { kind: "retryable", error: "HTTP 503" },
      3,
      now,
      policy(() => 0.5),
    );
    expect(decision).toEqual({
      status: "FAILED",
      nextAttemptAt: new Date(now.getTime() + 2000),
      lastError: "HTTP 503",
    });
  });

  it("alerts once the last allowed try has failed", () => {
    expect(decideAfterFailure({ kind: "retryable", error: "HTTP 500" }, 7, now, policy(Math.random)).status).toBe(
      "FAILED",
    );
    expect(decideAfterFailure({ kind: "retryable", error: "HTTP 500" }, 8, now, policy(Math.random))).toEqual({
      status: "ALERTED",
      lastError: "HTTP 500",
    });
  });

  it("alerts a refusal at once, on its first try", () => {
    expect(decideAfterFailure({ kind: "refused", error: "HTTP 400: bad event" }, 1, now, policy(Math.random))).toEqual({
      status: "ALERTED",
      lastError: "HTTP 400: bad event",
    });
  });
});

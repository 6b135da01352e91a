import type { DeliveryResult } from "./ports";

/** Backoffs grow no further than this (contract: "capped at 5 min"). */
export const MAX_RETRY_DELAY_MS = 5 * 60 * 1000;

/**
 * Exponential backoff with full jitter: after the n-th failed try, wait a uniformly random time in
 * [0, min(cap, base · 2^(n-1))). Random waits spread the retries of events that failed together (the platform
 * was down), so they do not come back as one burst.
 */
export function retryDelayMs(attemptsMade: number, baseDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.floor(random() * ceiling);
}

export type FailureDecision =
  | { status: "FAILED"; nextAttemptAt: Date; lastError: string }
  | { status: "ALERTED"; lastError: string };

export interface FailurePolicy {
  maxAttempts: number;
  baseDelayMs: number;
  random?: () => number;
}

/**
 * What becomes of an event whose try did not succeed. `attemptsMade` includes the try that just failed.
 * A refusal (4xx other than 408/429) will not get better by repeating it, so it is alerted at once.
 */
export function decideAfterFailure(
  result: Exclude<DeliveryResult, { kind: "accepted" }>,
  attemptsMade: number,
  now: Date,
  policy: FailurePolicy,
): FailureDecision {
  if (result.kind === "refused" || attemptsMade >= policy.maxAttempts) {
    return { status: "ALERTED", lastError: result.error };
  }
  const delay = retryDelayMs(attemptsMade, policy.baseDelayMs, policy.random);
  return { status: "FAILED", nextAttemptAt: new Date(now.getTime() + delay), lastError: result.error };
}

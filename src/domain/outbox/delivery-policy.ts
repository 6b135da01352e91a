import { retryDelayMs } from "../shared/backoff";
import type { DeliveryResult } from "./ports";

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

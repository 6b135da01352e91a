/** Backoffs grow no further than this (contract: "capped at 5 min"). */
export const MAX_RETRY_DELAY_MS = 5 * 60 * 1000;

/**
 * Exponential backoff with full jitter: after the n-th failed try, wait a uniformly random time in
 * [0, min(cap, base · 2^(n-1))). Random waits spread the retries of work that failed together (a gateway or
 * platform was down), so it does not come back as one burst. Used for outbox deliveries and refunds.
 */
export function retryDelayMs(attemptsMade: number, baseDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.floor(random() * ceiling);
}

import { IN_FLIGHT_LEASE_MS } from "../idempotency/idempotency-service";
import type { ClaimTicket } from "./ports";

export interface IssueTiming {
  /** How long a claim waits for another instance to build the coupon's state before answering 503. */
  stateWaitMs: number;
  /** Lifetime of the build lock: the longest a crashed builder can hold the others up. */
  buildLockMs: number;
  /**
   * A claim older than this that PostgreSQL never recorded is an orphan (its request lost Redis's reply, or
   * died) and is given back; a younger one may still be written, so refusals based on it are not final (they
   * carry Retry-After). It must end well inside the idempotency lease (see assertTimingAgrees): a keyed retry
   * takes the key over only once the lease has run out, and must then find its dead request's claim
   * recoverable, not hear COUPON_ALREADY_ISSUED. Giving back a claim whose write is in fact still under way
   * is safe: PostgreSQL's conditional writes decide, and the state is repaired from them.
   */
  orphanGraceMs: number;
  /** At most one check for units stuck in orphaned claims per coupon this often, when the state says sold out. */
  auditIntervalMs: number;
}

export const DEFAULT_ISSUE_TIMING: IssueTiming = {
  stateWaitMs: 5_000,
  buildLockMs: 10_000,
  orphanGraceMs: 30_000,
  auditIntervalMs: 10_000,
};

const ORPHAN_MARGIN_MS = 10_000;

/** How long a claim of the user found in the state, not yet in PostgreSQL, is waited for before a 503. */
export const RECORD_WAIT_MS = 1_000;

/**
 * A request claims within `stateWaitMs` of taking its Idempotency-Key; a retry may take the key over after
 * IN_FLIGHT_LEASE_MS. The dead request's claim must be past the grace by then, with room to spare.
 */
export function assertTimingAgrees(timing: IssueTiming, leaseMs = IN_FLIGHT_LEASE_MS): void {
  if (timing.stateWaitMs + timing.orphanGraceMs + ORPHAN_MARGIN_MS > leaseMs) {
    throw new Error(
      `orphanGraceMs (${timing.orphanGraceMs}) + stateWaitMs (${timing.stateWaitMs}) must end ${ORPHAN_MARGIN_MS} ms before the idempotency lease (${leaseMs})`,
    );
  }
}

/** A claim made in Redis (not loaded from PostgreSQL, time 0) longer ago than the grace: an orphan if unrecorded. */
export function isPastGrace(ticket: ClaimTicket, nowMs: number, timing: IssueTiming): boolean {
  return ticket.claimedAtMs > 0 && nowMs - ticket.claimedAtMs > timing.orphanGraceMs;
}

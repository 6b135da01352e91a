import { defineMachine, transitionsOfMoves } from "../shared/state-machine";

/**
 * The outbox event's status machine (contract: "Outbox and data platform"), as data. Every status change the
 * relay or an admin makes is one of these steps; the SQL that makes it builds its `WHERE status IN (…)` from the
 * same table, so the queries cannot allow what the machine forbids.
 *
 *   PENDING ──claim──► PROCESSING ──deliver──► SENT
 *      ▲                  │ ├──fail──► FAILED ──claim──► PROCESSING …
 *      │                  │ └──alert─► ALERTED
 *      └────release───────┘
 *   FAILED, ALERTED ──retry (admin)──► PENDING
 */
export const EVENT_STATUSES = ["PENDING", "PROCESSING", "SENT", "FAILED", "ALERTED"] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

export const EVENT_TRANSITIONS = {
  /** A relay takes the event under a lease to deliver it. */
  claim: { from: ["PENDING", "FAILED"], to: "PROCESSING" },
  /** The data platform accepted it. */
  deliver: { from: ["PROCESSING"], to: "SENT" },
  /** A try failed (or its lease ran out) with tries left: retried after a backoff. */
  fail: { from: ["PROCESSING"], to: "FAILED" },
  /** Refused for good, or out of tries: an alert is raised and it waits for an admin. */
  alert: { from: ["PROCESSING"], to: "ALERTED" },
  /** Claimed but never tried (the relay stopped, or its lease was too short to start): back in the queue. */
  release: { from: ["PROCESSING"], to: "PENDING" },
  /** An admin sends it again: attempts start over. */
  retry: { from: ["FAILED", "ALERTED"], to: "PENDING" },
} as const satisfies Record<string, { from: readonly EventStatus[]; to: EventStatus }>;

export type EventTransition = keyof typeof EVENT_TRANSITIONS;

export const EVENT_MACHINE = defineMachine({
  name: "outbox event",
  statuses: EVENT_STATUSES,
  transitions: transitionsOfMoves<EventStatus, EventTransition>(EVENT_TRANSITIONS),
});

/** Statuses of events still waiting for (or in) delivery: what "pending" means for the oldest-age metric. */
export const UNDELIVERED_STATUSES = ["PENDING", "PROCESSING", "FAILED"] as const satisfies readonly EventStatus[];

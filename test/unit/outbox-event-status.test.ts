import { describe, expect, it } from "bun:test";
import {
  EVENT_MACHINE,
  EVENT_STATUSES,
  EVENT_TRANSITIONS,
  type EventStatus,
  type EventTransition,
} from "../../src/domain/outbox/event-status";

// The whole machine written out once more by hand: every transition from every status, allowed or not.
const ALLOWED: Record<EventTransition, EventStatus[]> = {
  claim: ["PENDING", "FAILED"],
  deliver: ["PROCESSING"],
  fail: ["PROCESSING"],
  alert: ["PROCESSING"],
  release: ["PROCESSING"],
  retry: ["FAILED", "ALERTED"],
};

const TARGET: Record<EventTransition, EventStatus> = {
  claim: "PROCESSING",
  deliver: "SENT",
  fail: "FAILED",
  alert: "ALERTED",
  release: "PENDING",
  retry: "PENDING",
};

const cases = (Object.keys(ALLOWED) as EventTransition[]).flatMap((transition) =>
  EVENT_STATUSES.map((from) => [transition, from, ALLOWED[transition].includes(from)] as const),
);

describe("the outbox event status machine", () => {
  it("names every transition the contract's lifecycle needs, and no other", () => {
    expect(Object.keys(EVENT_TRANSITIONS).sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it.each(cases)("%s from %s is allowed: %p", (transition, from, allowed) => {
    expect(EVENT_MACHINE.can(from, EVENT_TRANSITIONS[transition].to, transition)).toBe(allowed);
  });

  it.each(Object.entries(TARGET))("%s leads to %s", (transition, to) => {
    expect(EVENT_TRANSITIONS[transition as EventTransition].to).toBe(to as EventStatus);
  });

  it("never leaves SENT: a delivered event is final", () => {
    for (const transition of Object.keys(EVENT_TRANSITIONS) as EventTransition[]) {
      expect(EVENT_MACHINE.can("SENT", EVENT_TRANSITIONS[transition].to, transition)).toBe(false);
    }
  });

  it("lets an admin retry only what the relay gave up on or is backing off", () => {
    expect(EVENT_STATUSES.filter((status) => EVENT_MACHINE.can(status, EVENT_TRANSITIONS.retry.to, "retry"))).toEqual([
      "FAILED",
      "ALERTED",
    ]);
  });
});

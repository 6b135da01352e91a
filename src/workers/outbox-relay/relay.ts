import { decideAfterFailure } from "../../domain/outbox/delivery-policy";
import {
  type BatchReport,
  type ClaimedEvent,
  type EventPublisher,
  type FailedDelivery,
  OUTBOX_TOPICS,
  type OutboxQueue,
  type OutboxTopic,
  type RelayObserver,
} from "../../domain/outbox/ports";
import type { Alerts } from "../../domain/shared/alerts";
import type { Clock } from "../../domain/shared/clock";
import { ConcurrencyLimit } from "../../infra/concurrency-limit";
import type { Logger } from "../../infra/logger";
import { systemClock } from "../../infra/system-clock";
import { type BatchOutcome, deliverBatch } from "./deliver-batch";
import { coalescedStarts } from "./try-starts";

export interface RelaySettings {
  batchSize: number;
  leaseMs: number;
  /** Longest sleep between rounds when no notification arrives (the fallback to LISTEN/NOTIFY). */
  pollIntervalMs: number;
  /**
   * How long at most a notified lane gathers further notifications before it claims: checkouts commit their
   * events in transactions of their own, and a claim (with its try counts and its SENT) costs about the same
   * for one event as for a hundred. 0 claims at once.
   */
  wakeDelayMs: number;
  /** A lane that has gathered this many notifications (about as many commits) claims without waiting longer. */
  wakeAfterNotifications: number;
  /**
   * Busy: a claim took at least `busyClaim` events. A busy relay goes round every `wakeDelayMs` without being
   * told (there is always something to claim) and needs no notifications, which cost it a wake-up each, about
   * one per event; it is quiet again once every table's last claim took fewer than `quietClaim`.
   */
  busyClaim: number;
  quietClaim: number;
  maxAttempts: number;
  retryBaseDelayMs: number;
  /** The publisher's own time limit: a try starts only if it can end inside the lease. */
  publishTimeoutMs: number;
}

export interface RelayDeps {
  queue: OutboxQueue;
  publisher: EventPublisher;
  alerts: Alerts;
  logger: Logger;
  observer: RelayObserver;
  settings: RelaySettings;
  /** Unique per relay instance; each claim's lease owner is `<relayId>:<batch number>`. */
  relayId: string;
  clock?: Clock;
  random?: () => number;
}

/** Batches of one table published at the same time by one relay. */
const BATCHES_IN_FLIGHT = 4;
/**
 * Requests one relay has open to the data platform at once, both tables together. A try's timeout starts when
 * its request does, not while it waits for a slot.
 */
const MAX_CONCURRENT_TRIES = 256;
/** A database outage is retried at this pace, so a relay neither spins nor gives up. */
const MAX_ERROR_BACKOFF_MS = 30_000;

interface Lane {
  topic: OutboxTopic;
  /** A notification arrived while the lane was busy: go round again (after the wake delay) instead of sleeping. */
  woken: boolean;
  /** Notifications since the lane last went round. */
  notifications: number;
  /** Events its last claim took. */
  lastClaimed: number;
  /** Ends the lane's sleep after `afterMs` (at once when 0); later calls while it waits do not push it back. */
  wakeUp?: (afterMs: number) => void;
  running?: Promise<void>;
}

const noFailures = (): BatchReport["failures"] => ({ retryable: 0, refused: 0, lease_expired: 0 });

/**
 * The relay: one loop per outbox table (a busy table does not hold up the other). Each round recovers expired
 * leases now and then, claims a batch, publishes it (deliverBatch) and records every outcome in a few
 * statements. It sleeps when there is nothing to do, until a notification (`wake`) or the poll interval.
 */
export class OutboxRelay {
  readonly #lanes: Lane[] = OUTBOX_TOPICS.map((topic) => ({ topic, woken: false, notifications: 0, lastClaimed: 0 }));
  readonly #alertsInFlight = new Set<Promise<void>>();
  readonly #publishing = new ConcurrencyLimit(MAX_CONCURRENT_TRIES);
  readonly #clock: Clock;
  #stopping = false;
  #batches = 0;
  #busy = false;
  #onBusy: (busy: boolean) => void = () => {};

  constructor(private readonly deps: RelayDeps) {
    this.#clock = deps.clock ?? systemClock;
  }

  start(): void {
    for (const lane of this.#lanes) lane.running ??= this.#run(lane);
  }

  /** Events were committed to `topic` (every table when undefined): deliver them now rather than at the next poll. */
  wake(topic?: OutboxTopic): void {
    for (const lane of this.#lanes) {
      if (topic !== undefined && lane.topic !== topic) continue;
      lane.woken = true;
      const { wakeDelayMs, wakeAfterNotifications } = this.deps.settings;
      const enough = ++lane.notifications >= wakeAfterNotifications;
      lane.wakeUp?.(this.#stopping || enough ? 0 : wakeDelayMs);
    }
  }

  /**
   * `listener` hears when the relay becomes busy (it then polls every wake delay and needs no notifications)
   * and when it is quiet again (it sleeps until notified or the poll interval).
   */
  onBusyChange(listener: (busy: boolean) => void): void {
    this.#onBusy = listener;
  }

  #noteClaim(lane: Lane, claimed: number): void {
    lane.lastClaimed = claimed;
    const { busyClaim, quietClaim } = this.deps.settings;
    const busy = this.#busy ? this.#lanes.some((each) => each.lastClaimed >= quietClaim) : claimed >= busyClaim;
    if (busy === this.#busy) return;
    this.#busy = busy;
    this.#onBusy(busy);
  }

  /** Claims nothing more; tries in flight end (each within its timeout), untried events are released. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.wake();
    await Promise.all(this.#lanes.map((lane) => lane.running));
    await Promise.all(this.#alertsInFlight);
  }

  /**
   * Claims a batch of `topic` and starts delivering it; resolves with the claim's size as soon as the claim is
   * made, and with the delivery (publish, then record the outcomes) in `delivered`.
   */
  async #claimBatch(topic: OutboxTopic): Promise<{ claimed: number; delivered: Promise<void> }> {
    const { queue, settings, publisher, relayId } = this.deps;
    const token = `${relayId}:${++this.#batches}`;
    // Taken before the claim, so the lease in the database ends later than this estimate of it.
    const leaseEnds = Date.now() + settings.leaseMs;
    const events = await queue.claim(topic, token, settings.batchSize, settings.leaseMs);
    if (events.length === 0) return { claimed: 0, delivered: Promise.resolve() };
    const margin = Math.min(1000, settings.leaseMs / 10);
    const lastStart = leaseEnds - settings.publishTimeoutMs - margin;
    const started = coalescedStarts(
      (ids) => queue.startTries(topic, token, ids),
      (err) => this.deps.logger.error({ err, table: topic }, "outbox tries not started; their leases will expire"),
    );
    // Whether to start is decided once a slot is free: waiting for one may have taken the lease's time. A try
    // is counted before it is made (attempts = tries made, even if this process dies during it) and only while
    // the claim still holds the event.
    const tryEvent = (event: ClaimedEvent) =>
      this.#publishing.run(async () => {
        if (this.#stopping || Date.now() >= lastStart) return undefined;
        if (!(await started(event.id))) return undefined;
        return publisher.publish(event);
      });
    const delivered = deliverBatch(events, tryEvent).then((outcome) => this.#record(topic, token, outcome));
    return { claimed: events.length, delivered };
  }

  /**
   * Leases whose relay died or stalled: FAILED (due at once) or ALERTED. A try the relay started was counted when
   * it started (it may have reached the platform); claimed events it never tried add nothing.
   */
  async #recoverExpiredLeases(topic: OutboxTopic): Promise<void> {
    const expired = await this.deps.queue.recoverExpiredLeases(topic, this.deps.settings.maxAttempts);
    if (expired.length === 0) return;
    this.deps.logger.warn({ table: topic, events: expired.length }, "outbox leases expired; events back in the queue");
    const alerted = expired.filter((event) => event.status === "ALERTED");
    for (const event of alerted) this.#alert(topic, { ...event, lastError: "lease expired on the last try" });
    this.deps.observer({
      topic,
      sent: 0,
      latenciesSeconds: [],
      failures: { ...noFailures(), lease_expired: expired.length },
      alerted: alerted.length,
      released: 0,
    });
  }

  async #record(topic: OutboxTopic, token: string, outcome: BatchOutcome): Promise<void> {
    const { queue, settings, random } = this.deps;
    const now = this.#clock.now();
    const policy = { maxAttempts: settings.maxAttempts, baseDelayMs: settings.retryBaseDelayMs, random };
    const decisions = outcome.failed.map(({ event, result }) => ({
      event,
      kind: result.kind,
      failure: { id: event.id, ...decideAfterFailure(result, event.attempts + 1, now, policy) } as FailedDelivery,
    }));
    // Disjoint rows: the three statements can run side by side.
    const [latencies, recorded] = await Promise.all([
      queue.markSent(
        topic,
        token,
        outcome.sent.map((event) => event.id),
      ),
      queue.markFailed(
        topic,
        token,
        decisions.map((decision) => decision.failure),
      ),
      queue.release(
        topic,
        token,
        outcome.unstarted.map((event) => event.id),
      ),
    ]);
    const failures = noFailures();
    let alerted = 0;
    for (const { event, kind, failure } of decisions) {
      if (!recorded.includes(event.id)) continue; // our lease was lost; the event's new holder decides
      failures[kind]++;
      if (failure.status === "ALERTED") {
        alerted++;
        this.#alert(topic, { ...event, attempts: event.attempts + 1, lastError: failure.lastError });
      }
    }
    const released = outcome.unstarted.length;
    this.deps.observer({ topic, sent: latencies.length, latenciesSeconds: latencies, failures, alerted, released });
  }

  /** Alerts go out beside the relay's work (a slow webhook must not hold deliveries up); stop() waits for them. */
  #alert(
    topic: OutboxTopic,
    event: Pick<ClaimedEvent, "id" | "aggregateId" | "type" | "attempts"> & { lastError: string },
  ) {
    const raised = this.deps.alerts
      .raise({
        kind: "OUTBOX_EVENT_ALERTED",
        summary: `outbox event ${event.id} (${event.type}) not delivered after ${event.attempts} tries: ${event.lastError}; later events of aggregate ${event.aggregateId} wait until an admin retries it`,
        details: {
          table: topic,
          eventId: event.id,
          aggregateId: event.aggregateId,
          type: event.type,
          attempts: event.attempts,
          lastError: event.lastError,
        },
      })
      .finally(() => this.#alertsInFlight.delete(raised));
    this.#alertsInFlight.add(raised);
  }

  /**
   * A lane claims a batch, and while that batch is being published claims the next one if there is more to do
   * (the last claim was full, or a notification came), up to BATCHES_IN_FLIGHT: a backlog drains at the pace
   * of several batches, and an event committed during a slow batch does not wait for it. Batches of one relay
   * exclude each other exactly as two relays do (a claimed event blocks the rest of its aggregate).
   */
  async #run(lane: Lane): Promise<void> {
    const { settings, logger } = this.deps;
    const recoveryEveryMs = Math.min(1000, settings.leaseMs / 2);
    const inFlight = new Set<Promise<void>>();
    let lastRecovery = 0;
    let consecutiveErrors = 0;
    while (!this.#stopping) {
      lane.woken = false;
      lane.notifications = 0;
      let moreToDo = false;
      try {
        if (Date.now() - lastRecovery >= recoveryEveryMs) {
          await this.#recoverExpiredLeases(lane.topic);
          lastRecovery = Date.now();
        }
        const { claimed, delivered } = await this.#claimBatch(lane.topic);
        this.#noteClaim(lane, claimed);
        if (claimed > 0) {
          const tracked: Promise<void> = delivered
            .catch((err) =>
              logger.error({ err, table: lane.topic }, "outbox batch not recorded; its leases will expire"),
            )
            .finally(() => {
              inFlight.delete(tracked);
              // Events waiting behind this batch's events (same aggregate) may be claimable now.
              this.wake(lane.topic);
            });
          inFlight.add(tracked);
        }
        moreToDo = claimed >= settings.batchSize;
        consecutiveErrors = 0;
      } catch (err) {
        consecutiveErrors++;
        const retryInMs = Math.min(MAX_ERROR_BACKOFF_MS, settings.pollIntervalMs * 2 ** consecutiveErrors);
        logger.error({ err, table: lane.topic, retryInMs }, "outbox relay round failed");
        await this.#sleep(lane, retryInMs);
        continue;
      }
      if (inFlight.size >= BATCHES_IN_FLIGHT) await Promise.race(inFlight);
      else if (moreToDo) continue;
      // Woken meanwhile, or busy: more events are coming in, gather them for a moment rather than claim them
      // one by one.
      else if (lane.woken || this.#busy) await this.#sleep(lane, settings.wakeDelayMs);
      else await this.#sleep(lane, settings.pollIntervalMs);
    }
    await Promise.all(inFlight);
  }

  /** Until `ms`, or a wake-up's own delay (whichever ends first; stopping ends it at once). */
  #sleep(lane: Lane, ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      let timer = setTimeout(done, ms);
      let endsAt = Date.now() + ms;
      function done() {
        clearTimeout(timer);
        lane.wakeUp = undefined;
        resolve();
      }
      lane.wakeUp = (afterMs) => {
        if (afterMs <= 0) return done();
        if (Date.now() + afterMs >= endsAt) return; // already ending by then: gather until it does
        clearTimeout(timer);
        timer = setTimeout(done, afterMs);
        endsAt = Date.now() + afterMs;
      };
    });
  }
}

import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import {
  type Backlog,
  type BatchReport,
  FAILURE_KINDS,
  type FailureKind,
  OUTBOX_TOPICS,
  type RelayObserver,
} from "../../domain/outbox/ports";
import type { Logger } from "../logger";

/** A scrape reads the backlog once for both gauges; a second scrape within this reuses the answer. */
const BACKLOG_REUSE_MS = 1000;

/**
 * The outbox on /metrics. Two sources, because the relay may run in a worker thread whose prom-client
 * registry this thread cannot read:
 * - counters and the latency histogram are fed by the relay's batch reports (`record`), which a worker posts
 *   to the main thread, one message per batch;
 * - backlog and oldest-undelivered age are read from the database at scrape time, so they are true for the
 *   whole deployment (every instance shows the same figures: aggregate them with max(), not sum()).
 */
export class OutboxMetrics {
  readonly #deliveries: Counter<"table">;
  readonly #failures: Counter<"table" | "kind">;
  readonly #alerts: Counter<"table">;
  readonly #released: Counter<"table">;
  readonly #latency: Histogram<"table">;
  #backlogRead?: { at: number; backlog: Promise<Backlog[] | undefined> };

  constructor(
    registry: Registry,
    private readonly readBacklog: () => Promise<Backlog[]>,
    private readonly logger: Logger,
  ) {
    const registers = [registry];
    this.#deliveries = new Counter({
      name: "outbox_deliveries_total",
      help: "Outbox events delivered (marked SENT), by table",
      labelNames: ["table"],
      registers,
    });
    this.#failures = new Counter({
      name: "outbox_delivery_failures_total",
      help: "Failed delivery tries by table and kind (retryable, refused, lease_expired)",
      labelNames: ["table", "kind"],
      registers,
    });
    this.#alerts = new Counter({
      name: "outbox_alerts_total",
      help: "Outbox events that became ALERTED, by table",
      labelNames: ["table"],
      registers,
    });
    this.#released = new Counter({
      name: "outbox_released_total",
      help: "Claimed events put back untried (relay stopping, lease too short to start, behind a failure)",
      labelNames: ["table"],
      registers,
    });
    this.#latency = new Histogram({
      name: "outbox_delivery_latency_seconds",
      help: "From an event's commit (its created_at) to SENT, by table",
      labelNames: ["table"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    // Every series exists from the start at 0, so rates and alerts work before the first event.
    for (const table of OUTBOX_TOPICS) {
      this.#deliveries.inc({ table }, 0);
      this.#alerts.inc({ table }, 0);
      this.#released.inc({ table }, 0);
      for (const kind of FAILURE_KINDS) this.#failures.inc({ table, kind }, 0);
    }
    const metrics = this;
    new Gauge({
      name: "outbox_backlog_events",
      help: "Outbox events not yet SENT, by table and status (read from the database at scrape time)",
      labelNames: ["table", "status"],
      registers,
      async collect() {
        const backlog = await metrics.#backlog();
        this.reset();
        for (const { topic, counts } of backlog ?? []) {
          for (const [status, events] of Object.entries(counts)) this.set({ table: topic, status }, events);
        }
      },
    });
    new Gauge({
      name: "outbox_oldest_pending_age_seconds",
      help: "Age of the oldest event still to deliver (PENDING, PROCESSING or FAILED), by table; 0 when none",
      labelNames: ["table"],
      registers,
      async collect() {
        const backlog = await metrics.#backlog();
        this.reset();
        for (const { topic, oldestUndeliveredAt } of backlog ?? []) {
          const age = oldestUndeliveredAt ? Math.max(0, (Date.now() - oldestUndeliveredAt.getTime()) / 1000) : 0;
          this.set({ table: topic }, age);
        }
      },
    });
  }

  readonly record: RelayObserver = (report: BatchReport) => {
    const table = report.topic;
    if (report.sent > 0) this.#deliveries.inc({ table }, report.sent);
    for (const seconds of report.latenciesSeconds) this.#latency.observe({ table }, seconds);
    for (const [kind, count] of Object.entries(report.failures) as [FailureKind, number][]) {
      if (count > 0) this.#failures.inc({ table, kind }, count);
    }
    if (report.alerted > 0) this.#alerts.inc({ table }, report.alerted);
    if (report.released > 0) this.#released.inc({ table }, report.released);
  };

  /** Undefined when the database does not answer: the gauges are left out of that scrape rather than stale. */
  #backlog(): Promise<Backlog[] | undefined> {
    const now = Date.now();
    if (!this.#backlogRead || now - this.#backlogRead.at > BACKLOG_REUSE_MS) {
      const backlog = this.readBacklog().catch((err) => {
        this.logger.warn({ err }, "outbox backlog metrics unavailable");
        return undefined;
      });
      this.#backlogRead = { at: now, backlog };
    }
    return this.#backlogRead.backlog;
  }
}

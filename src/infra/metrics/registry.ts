import { timingSafeEqual } from "node:crypto";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/**
 * One registry per container, so tests can build many apps without sharing counters. HTTP metrics live
 * here; each context's metrics are defined beside this file (src/infra/metrics/<context>.ts) and registered by
 * its wiring.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests by method, route template and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by method and route template",
    labelNames: ["method", "route"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  /** Label children per (method, route, status), so a request costs no label hashing. */
  readonly #requestSeries = new Map<
    string,
    { count: Counter.Internal; duration: Histogram.Internal<"method" | "route"> }
  >();

  /** Counts a request and its latency under its route template. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.#requestSeries.get(key);
    if (!series) {
      series = {
        count: this.httpRequests.labels(method, route, String(status)),
        duration: this.httpDuration.labels(method, route),
      };
      this.#requestSeries.set(key, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }

  readonly #token: Buffer | undefined;

  /** `token`: METRICS_TOKEN; when set, only `Authorization: Bearer <token>` may read the metrics. */
  constructor(options: { processMetrics?: boolean; token?: string } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
    this.#token = options.token === undefined ? undefined : Buffer.from(options.token);
  }

  /** Whether a request with this Authorization header may read the metrics (anyone, without a token). */
  allows(authorization: string | undefined): boolean {
    if (this.#token === undefined) return true;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    const offered = Buffer.from(match?.[1] ?? "");
    // Constant time: the answer must not tell how much of a guess was right.
    return offered.length === this.#token.length && timingSafeEqual(offered, this.#token);
  }
}

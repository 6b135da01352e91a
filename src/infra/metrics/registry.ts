import { timingSafeEqual } from "node:crypto";
import { collectDefaultMetrics, Registry } from "prom-client";
import { RequestMetrics } from "./request-metrics";

/**
 * One registry per container, so tests can build many apps without sharing counters. HTTP metrics live
 * here; each context's metrics are defined beside this file (src/infra/metrics/<context>.ts) and registered by
 * its wiring.
 */
export class Metrics {
  readonly registry = new Registry();

  /** `http_requests_total` and `http_request_duration_seconds` (see RequestMetrics for why not prom-client's). */
  readonly #requests = new RequestMetrics(this.registry);

  /** Counts a request and its latency under its route template. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.#requests.observe(method, route, status, seconds);
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

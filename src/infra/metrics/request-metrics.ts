import type { MetricObject, MetricValue, Registry } from "prom-client";

/** The latency buckets of `http_request_duration_seconds` (seconds). */
export const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

/** One (method, route): its latency counts per bucket (the last one is +Inf) and its requests per status. */
interface Series {
  method: string;
  route: string;
  buckets: Float64Array;
  sum: number;
  count: number;
  statuses: Map<number, number>;
}

/**
 * `http_requests_total{method,route,status}` and `http_request_duration_seconds{method,route}`, counted the
 * cheapest way we found: one nested Map lookup by (route, method) and a few additions per request. prom-client's
 * own Counter and Histogram checked and hashed the labels on every observation (~1.5 µs of a request that costs
 * ~20); the series here are exposed through the same registry in exactly the text prom-client writes for them
 * (labels in the same order, cumulative buckets, `+Inf`, `_sum`, `_count`), so scrapers and dashboards see no
 * difference. Both are registered as prom-client metrics (the registry only asks a metric for `get()`).
 */
export class RequestMetrics {
  /** route → method → series. Route templates are few (the app's routes, "unmatched"), so this stays small. */
  readonly #series = new Map<string, Map<string, Series>>();

  constructor(registry: Registry) {
    const reset = () => this.reset();
    registry.registerMetric(
      exported("http_requests_total", "HTTP requests by method, route template and status", "counter", reset, () =>
        this.#counts(),
      ),
    );
    registry.registerMetric(
      exported(
        "http_request_duration_seconds",
        "HTTP request latency by method and route template",
        "histogram",
        reset,
        () => this.#durations(),
      ),
    );
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.#series.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.#series.set(route, byMethod);
    }
    let series = byMethod.get(method);
    if (series === undefined) {
      series = {
        method,
        route,
        buckets: new Float64Array(REQUEST_BUCKETS.length + 1),
        sum: 0,
        count: 0,
        statuses: new Map(),
      };
      byMethod.set(method, series);
    }
    let bucket = 0;
    while (bucket < REQUEST_BUCKETS.length && seconds > (REQUEST_BUCKETS[bucket] as number)) bucket++;
    (series.buckets as Float64Array)[bucket]! += 1;
    series.sum += seconds;
    series.count += 1;
    series.statuses.set(status, (series.statuses.get(status) ?? 0) + 1);
  }

  reset(): void {
    this.#series.clear();
  }

  #counts(): MetricValue<string>[] {
    const values: MetricValue<string>[] = [];
    for (const series of this.#all()) {
      for (const [status, value] of series.statuses) {
        values.push({ labels: { method: series.method, route: series.route, status: String(status) }, value });
      }
    }
    return values;
  }

  #durations(): MetricValue<string>[] {
    const values: MetricValue<string>[] = [];
    for (const series of this.#all()) {
      const { method, route } = series;
      let cumulative = 0;
      REQUEST_BUCKETS.forEach((le, i) => {
        cumulative += series.buckets[i] as number;
        values.push(bucketValue({ le, method, route }, cumulative));
      });
      values.push(bucketValue({ le: "+Inf", method, route }, series.count));
      values.push(named("http_request_duration_seconds_sum", { method, route }, series.sum));
      values.push(named("http_request_duration_seconds_count", { method, route }, series.count));
    }
    return values;
  }

  *#all(): Iterable<Series> {
    for (const byMethod of this.#series.values()) yield* byMethod.values();
  }
}

type Labels = Record<string, string | number>;

const named = (metricName: string, labels: Labels, value: number) =>
  ({ metricName, labels, value }) as MetricValue<string>;
const bucketValue = (labels: Labels, value: number) => named("http_request_duration_seconds_bucket", labels, value);

/** What prom-client's Registry needs of a metric to expose it: a name, and `get()` in its shape. */
export function exported(
  name: string,
  help: string,
  type: "counter" | "histogram",
  reset: () => void,
  values: () => MetricValue<string>[],
) {
  const metric = {
    name,
    help,
    type,
    aggregator: "sum",
    get: async (): Promise<MetricObject> =>
      ({ name, help, type, values: values(), aggregator: "sum" }) as unknown as MetricObject,
    reset,
  };
  return metric as never;
}

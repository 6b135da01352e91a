import { describe, expect, it } from "bun:test";
import { Counter, Histogram, Registry } from "prom-client";
import { HandCountedCounter } from "../../src/infra/metrics/counted-by-hand";
import { REQUEST_BUCKETS, RequestMetrics } from "../../src/infra/metrics/request-metrics";

// The request metrics are counted by hand instead of by prom-client's Counter and Histogram (cheaper per
// request); what a scraper reads must stay exactly what prom-client wrote for the same observations.
const observations: [string, string, number, number][] = [
  ["GET", "/api/v1/products/:productId", 200, 0.0004],
  ["GET", "/api/v1/products/:productId", 200, 0.001],
  ["GET", "/api/v1/products/:productId", 304, 0.0031],
  ["GET", "/api/v1/products/:productId", 404, 7],
  ["POST", "/api/v1/balances/charge", 200, 0.02],
  ["GET", "unmatched", 404, 0.0000001],
  ["GET", '/api/v1/odd "route" \\ \n', 500, 2.5],
];

function withPromClient(): Registry {
  const registry = new Registry();
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests by method, route template and status",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by method and route template",
    labelNames: ["method", "route"] as const,
    buckets: [...REQUEST_BUCKETS],
    registers: [registry],
  });
  for (const [method, route, status, seconds] of observations) {
    requests.labels(method, route, String(status)).inc();
    duration.labels(method, route).observe(seconds);
  }
  return registry;
}

describe("request metrics", () => {
  it("expose the same Prometheus text as prom-client's Counter and Histogram for the same requests", async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry);
    for (const [method, route, status, seconds] of observations) metrics.observe(method, route, status, seconds);
    expect(await registry.metrics()).toBe(await withPromClient().metrics());
  });

  it("start from nothing again when the registry is reset", async () => {
    const registry = new Registry();
    const metrics = new RequestMetrics(registry);
    metrics.observe("GET", "/healthz", 200, 0.001);
    registry.resetMetrics();
    const untouched = new Registry();
    new RequestMetrics(untouched);
    expect(await registry.metrics()).toBe(await untouched.metrics());
  });
});

describe("counters counted by hand", () => {
  const counts: [string, string][] = [
    ["product", "hit"],
    ["product", "hit"],
    ["product_list", "miss"],
    ["product", "miss"],
    ['odd "cache" \\', "hit"],
  ];
  const promClient = (registry: Registry) =>
    new Counter({
      name: "cache_requests_total",
      help: "Reads",
      labelNames: ["cache", "result"],
      registers: [registry],
    });
  const byHand = (registry: Registry) =>
    new HandCountedCounter(registry, "cache_requests_total", "Reads", ["cache", "result"]);

  it("expose the same Prometheus text as prom-client's Counter for the same counts", async () => {
    const expected = new Registry();
    const counter = promClient(expected);
    const registry = new Registry();
    const counted = byHand(registry);
    expect(await registry.metrics()).toBe(await expected.metrics());
    for (const [cache, result] of counts) {
      counter.inc({ cache, result });
      counted.cell(cache, result).value++;
    }
    expect(await registry.metrics()).toBe(await expected.metrics());
  });

  it("hide every series when the registry is reset, until it is counted again", async () => {
    const expected = new Registry();
    const counter = promClient(expected);
    const registry = new Registry();
    const counted = byHand(registry);
    const cell = counted.cell("product", "hit");
    cell.value += 3;
    counter.inc({ cache: "product", result: "hit" }, 3);
    registry.resetMetrics();
    expected.resetMetrics();
    expect(await registry.metrics()).toBe(await expected.metrics());
    cell.value++;
    counter.inc({ cache: "product", result: "hit" });
    expect(await registry.metrics()).toBe(await expected.metrics());
  });
});

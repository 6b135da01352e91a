import type { Container } from "../../container";
import { requestIdOf } from "../middleware/edge";
import { hardenedJson } from "../middleware/response-headers";
import { ALIVE } from "./operations.handlers";

type Fetch = (request: Request) => Response | Promise<Response>;

/**
 * Paths Bun's own router answers before a request reaches the app (`Bun.serve`'s `routes`), for what a load
 * balancer asks each instance many times a second: `GET /healthz`. Hono's context, chain and router cost ~3 µs of
 * a liveness answer that itself costs nothing. The answer is the app's, exactly: status, body, every hardening
 * header, the request id (echoed or new), counted in `http_requests_total{route="/healthz"}` and the latency
 * histogram, and no access line, as the edge writes none for a probe that succeeded (test/e2e/request-path.test.ts
 * compares the two). Whatever else comes to the path goes to the app as before: a query string (400 naming each
 * parameter), another method (405). With ACCESS_LOG_PROBES=true every probe goes through the app and its line.
 */
export function nativeRoutes(
  container: Container,
  app: { fetch: Fetch },
): Record<string, { GET: (request: Request) => Response | Promise<Response> }> {
  if (container.config.ACCESS_LOG_PROBES) return {};
  const { metrics } = container.services;
  return {
    "/healthz": {
      GET: (request: Request): Response | Promise<Response> => {
        const started = performance.now();
        if (request.url.includes("?")) return app.fetch(request);
        const res = hardenedJson(ALIVE, 200);
        res.headers.set("X-Request-Id", requestIdOf(request));
        metrics.observeRequest(request.method, "/healthz", 200, (performance.now() - started) / 1000);
        return res;
      },
    },
  };
}

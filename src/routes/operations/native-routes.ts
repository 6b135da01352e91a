import type { Container } from "../../container";
import { writeAccessLog } from "../../infra/logger";
import { publicOk } from "../lib/public-read";
import { requestIdOf } from "../middleware/edge";
import { hardenedJson } from "../middleware/response-headers";
import { ALIVE } from "./operations.handlers";

type Fetch = (request: Request) => Response | Promise<Response>;
type NativeRoutes = Record<string, { GET: (request: Request) => Response | Promise<Response> }>;

/** The product page's route template, as the app names it in metrics and access lines. */
const PRODUCT_ROUTE = "/api/v1/products/:productId";
const PRODUCT_PREFIX = "/api/v1/products/";

/**
 * Paths Bun's own router answers before a request reaches the app (`Bun.serve`'s `routes`), for the two answers a
 * drop is made of, when they need nothing but memory. Hono's context, chain and router cost ~3 µs of each; what
 * they do for these answers is done here, the same way: the request id (echoed or new), every hardening header,
 * the request metrics and, for the product page, the access line. test/e2e/request-path.test.ts compares each
 * answer with the app's, header by header. Anything else goes to the app, unchanged:
 *
 * - `GET /healthz` without a query string: `{"status":"ok"}`, no access line (as the edge writes none for a probe
 *   that succeeded). A query string (400), another method (405) go to the app; with ACCESS_LOG_PROBES=true every
 *   probe does, for its line.
 * - `GET /api/v1/products/{productId}` when this process holds the page's near copy (Redis mode: kept exact across
 *   instances, see redis-near-cache.ts): the page with its ETag and Cache-Control. A request with a query string,
 *   an `If-None-Match` (the app answers 304), an id the app would refuse or not find, or a page not held here goes
 *   to the app, which reads it through the cache and keeps the copy for the next one.
 */
export function nativeRoutes(container: Container, app: { fetch: Fetch }): NativeRoutes {
  const { metrics, catalogue, publicReads } = container.services;
  const { logger } = container;
  const routes: NativeRoutes = {
    [`${PRODUCT_PREFIX}:productId`]: {
      GET: (request) => {
        const started = performance.now();
        const url = request.url;
        const path = url.slice(url.indexOf("/", url.indexOf("//") + 2));
        if (!path.startsWith(PRODUCT_PREFIX) || /[?%]/.test(path) || request.headers.has("If-None-Match")) {
          return app.fetch(request);
        }
        const body = catalogue.nearProductBody(path.slice(PRODUCT_PREFIX.length));
        if (body === undefined) return app.fetch(request);
        const requestId = requestIdOf(request);
        const res = publicOk(body, publicReads.cacheControl);
        res.headers.set("X-Request-Id", requestId);
        const seconds = (performance.now() - started) / 1000;
        metrics.observeRequest(request.method, PRODUCT_ROUTE, 200, seconds);
        writeAccessLog(logger, {
          requestId,
          method: request.method,
          path,
          route: PRODUCT_ROUTE,
          status: 200,
          ms: Math.round(seconds * 1000),
        });
        return res;
      },
    },
    // A fixed path beside the parameterised one: the app's, as before.
    [`${PRODUCT_PREFIX}popular`]: { GET: (request) => app.fetch(request) },
  };
  if (container.config.ACCESS_LOG_PROBES) return routes;
  routes["/healthz"] = {
    GET: (request) => {
      const started = performance.now();
      if (request.url.includes("?")) return app.fetch(request);
      const res = hardenedJson(ALIVE, 200);
      res.headers.set("X-Request-Id", requestIdOf(request));
      metrics.observeRequest(request.method, "/healthz", 200, (performance.now() - started) / 1000);
      return res;
    },
  };
  return routes;
}

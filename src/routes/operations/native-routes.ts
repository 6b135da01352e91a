import type { Container } from "../../container";
import { writeAccessLog } from "../../infra/logger";
import { rememberedQuery } from "../lib/create-router";
import { publicOk } from "../lib/public-read";
import { requestIdOf } from "../middleware/edge";
import { hardenedJson } from "../middleware/response-headers";
import { listRequestFor } from "../products/products.handlers";
import { ALIVE } from "./operations.handlers";

type Fetch = (request: Request) => Response | Promise<Response>;
type NativeRoutes = Record<string, { GET: (request: Request) => Response | Promise<Response> }>;

/** The product page's route template, as the app names it in metrics and access lines. */
const PRODUCT_ROUTE = "/api/v1/products/:productId";
const PRODUCT_PREFIX = "/api/v1/products/";
const LIST_PATH = "/api/v1/products";
const POPULAR_PATH = "/api/v1/products/popular";

/** A request URL's path and its query string (without the `?`; empty when there is none), sliced, not parsed. */
function pathAndSearch(url: string): { path: string; search: string } {
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  const queryStart = url.indexOf("?", pathStart);
  return queryStart === -1
    ? { path: url.slice(pathStart), search: "" }
    : { path: url.slice(pathStart, queryStart), search: url.slice(queryStart + 1) };
}

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
 * - `GET /api/v1/products?…` when the route has validated that very query string before (it remembers the frozen
 *   result: create-router.ts) and this process holds the page's near copy, unexpired (Redis mode; a list page
 *   lags by at most its TTL either way). Any other query string (new, refused, too long to remember, a cursor
 *   page), an `If-None-Match` or a page not held goes to the app.
 * - `GET /api/v1/products/popular?…` likewise: a remembered query whose ranking's near copy is held and unexpired
 *   (`X-Cache: HIT`, the window marked as read for the refresh worker, as the app's hit does).
 */
export function nativeRoutes(container: Container, app: { fetch: Fetch }): NativeRoutes {
  const { metrics, catalogue, publicReads, popularProducts } = container.services;
  const { logger } = container;
  /** A public read's 200 from a page in memory, as the app answers it (publicJson, then the edge's way out). */
  const answer = (
    request: Request,
    started: number,
    path: string,
    route: string,
    body: string,
    headers?: Record<string, string>,
  ) => {
    const requestId = requestIdOf(request);
    const res = publicOk(body, publicReads.cacheControl, headers);
    res.headers.set("X-Request-Id", requestId);
    const seconds = (performance.now() - started) / 1000;
    metrics.observeRequest(request.method, route, 200, seconds);
    writeAccessLog(logger, {
      requestId,
      method: request.method,
      path,
      route,
      status: 200,
      ms: Math.round(seconds * 1000),
    });
    return res;
  };
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
        return body === undefined ? app.fetch(request) : answer(request, started, path, PRODUCT_ROUTE, body);
      },
    },
    // The fixed path beside the parameterised one: a remembered query whose ranking is held here, else the app.
    [POPULAR_PATH]: {
      GET: (request) => {
        const started = performance.now();
        const { path, search } = pathAndSearch(request.url);
        if (path !== POPULAR_PATH || request.headers.has("If-None-Match")) return app.fetch(request);
        const query = rememberedQuery("get", POPULAR_PATH, search) as { days: number; limit: number } | undefined;
        const body = query && popularProducts.nearRead(query.days, query.limit);
        return body === undefined
          ? app.fetch(request)
          : answer(request, started, path, POPULAR_PATH, body, { "X-Cache": "HIT" });
      },
    },
    [LIST_PATH]: {
      GET: (request) => {
        const started = performance.now();
        const { path, search } = pathAndSearch(request.url);
        if (path !== LIST_PATH || request.headers.has("If-None-Match")) return app.fetch(request);
        // Only a query string the route has validated (and remembers): the same frozen query, the same request.
        const query = rememberedQuery("get", LIST_PATH, search);
        const body = query && catalogue.nearListBody(listRequestFor(query as Parameters<typeof listRequestFor>[0]));
        return body === undefined ? app.fetch(request) : answer(request, started, path, LIST_PATH, body);
      },
    },
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

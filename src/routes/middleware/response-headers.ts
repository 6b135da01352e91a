import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../lib/app-env";

/**
 * The usual hardening headers on every answer (nosniff, no referrer, HSTS for when TLS terminates in front,
 * never framed), and for JSON answers a policy that lets a browser run nothing from them. A route that sets
 * its own (the /docs page) keeps it.
 */
export const hardeningHeaders = secureHeaders({
  xFrameOptions: "DENY",
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  overwrite: false,
});

/** Catalogue reads anyone may make: not personal, cacheable by whoever sits in between. */
const PUBLIC_READ = /^\/api\/v1\/(products|models)(\/|$)/;

/**
 * `Cache-Control: no-store` on every answer that may carry a token or personal data (everything under /api
 * but the public catalogue reads, and /metrics), unless the route chose its own caching: a shared proxy or a
 * browser's disk must not keep a login answer, a profile, a balance or an order.
 */
export const noStoreByDefault = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (c.res.headers.has("Cache-Control")) return;
  const path = c.req.path;
  const publicRead = (c.req.method === "GET" || c.req.method === "HEAD") && PUBLIC_READ.test(path);
  if ((path.startsWith("/api/") && !publicRead) || path === "/metrics") c.res.headers.set("Cache-Control", "no-store");
});

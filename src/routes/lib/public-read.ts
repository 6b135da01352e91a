import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { hardenedHeaders, hardenedJson } from "../middleware/response-headers";
import type { AppEnv } from "./app-env";

/**
 * The validator of a serialised body: weak (the same JSON may be sent compressed or not), derived from the
 * bytes, so every instance names the same entry the same way without storing anything beside it.
 */
export function entityTag(body: string): string {
  return served(body).tag;
}

interface Served {
  tag: string;
  /**
   * The 200's headers (hardening headers, ETag, Cache-Control and the route's own), by Cache-Control and the
   * route's own headers, each made at its first answer: nearly always one.
   */
  headers?: Map<string, Headers>;
}

/** What is remembered of a body served lately (its tag, its headers). */
function served(body: string): Served {
  let entry = recentBodies.get(body);
  if (entry === undefined) {
    entry = { tag: `W/"${Bun.hash(body).toString(36)}-${body.length.toString(36)}"` };
    if (recentBodies.size >= RECENT_BODIES) recentBodies.clear();
    recentBodies.set(body, entry);
  }
  return entry;
}

/**
 * The bodies served lately, with their tags and headers. A cached page is the same string every time it is
 * served (the near copy's), and a string's hash is kept inside it once computed, so finding it here is a
 * pointer comparison where hashing an 8 kB list page again cost ~0.7 µs per read, and its headers are one
 * native copy instead of two `Headers.set` calls and an object spread (~0.4 µs). Bounded (started over when
 * full), so one-off pages hold at most a few MB; the tag depends only on the body, so this is a plain memo.
 */
const RECENT_BODIES = 256;
const recentBodies = new Map<string, Served>();

/** RFC 9110 §13.1.2: `*`, or any listed tag equal to ours by weak comparison. */
export function matchesEntityTag(ifNoneMatch: string, tag: string): boolean {
  if (ifNoneMatch.trim() === "*") return true;
  const opaque = tag.slice(2);
  for (const listed of ifNoneMatch.split(",")) {
    const candidate = listed.trim();
    if ((candidate.startsWith("W/") ? candidate.slice(2) : candidate) === opaque) return true;
  }
  return false;
}

/**
 * Answers a public read (product, list, popular, model) whose body is already serialised: with its ETag and
 * the configured `Cache-Control`, and, when the client's `If-None-Match` names the same entity, with a 304 and
 * no body (nothing is parsed or re-encoded either way). `headers`: the route's own (popular's `X-Cache`); headers
 * set with `c.header()` do not reach the 200, whose headers are made in one go (hardenedJson).
 */
export function publicJson(c: Context<AppEnv>, body: string, headers?: Record<string, string>): never {
  const entry = served(body);
  const { tag } = entry;
  // `public, max-age=PUBLIC_CACHE_MAX_AGE_SECONDS`, made once by the container.
  const cacheControl = c.get("services").publicReads.cacheControl;
  const ifNoneMatch = c.req.header("If-None-Match");
  if (ifNoneMatch !== undefined && matchesEntityTag(ifNoneMatch, tag)) {
    return c.body(null, 304, { ...headers, ETag: tag, "Cache-Control": cacheControl }) as never;
  }
  return publicOk(body, cacheControl, headers, entry) as never;
}

/** A public read's 200: the body, every hardening header, its ETag, `cacheControl` and the route's own headers. */
export function publicOk(body: string, cacheControl: string, headers?: Record<string, string>, entry = served(body)) {
  let variant = cacheControl;
  if (headers !== undefined) for (const name in headers) variant += `\n${name}: ${headers[name]}`;
  entry.headers ??= new Map();
  let prepared = entry.headers.get(variant);
  if (prepared === undefined) {
    prepared = hardenedHeaders({ ...headers, ETag: entry.tag, "Cache-Control": cacheControl });
    entry.headers.set(variant, prepared);
  }
  return hardenedJson(body, 200, prepared);
}

/** The headers every public read's 200 documents. */
export const publicReadHeaders = {
  ETag: z.string().openapi({
    description: "Names this version of the body; send it back in `If-None-Match` to get a 304 while it is current",
    example: 'W/"1x2y3z-4f2"',
  }),
  "Cache-Control": z.string().openapi({
    description: "`public, max-age=<PUBLIC_CACHE_MAX_AGE_SECONDS>` (default 0: revalidate every time)",
    example: "public, max-age=0",
  }),
};

/** The 304 of a public read, documented on each. */
export const notModifiedResponse = {
  304: {
    description:
      "Not Modified: the `If-None-Match` ETag names the current body; no body is sent (the cached copy is still right)",
    headers: z.object(publicReadHeaders),
  },
};

/** What a public read's description says about caching. */
export const PUBLIC_READ_CACHING =
  "HTTP caching: the answer carries an `ETag` and `Cache-Control: public, max-age=PUBLIC_CACHE_MAX_AGE_SECONDS` (default 0), so a browser or CDN may show it, stock and status included, up to that many seconds old without asking; `If-None-Match` with the current ETag is answered 304 without a body.";

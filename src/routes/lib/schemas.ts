import { z } from "@hono/zod-openapi";
import type { Context } from "hono";

/** An id from a client: any case accepted, compared in lower case (ownership checks compare strings). */
export const Uuid = z.uuid().toLowerCase().openapi({ example: "01936b2c-7f00-7c3a-9d2e-5b1f0a4e8c11" });

export const UuidParam = (name: string) => Uuid.openapi({ param: { name, in: "path" } });

export const Timestamp = z.iso.datetime().openapi({ example: "2026-11-25T10:00:00.000Z" });

/** Money is an integer number of KRW. */
export const Krw = z.number().int().openapi({ example: 50000 });

/** A whole decimal number in a query string: no "1e3" or "0x10" slipping through a coercion. */
export const queryInteger = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .openapi({ type: "integer", minimum: min, maximum: max });

const queryInt = (min: number, max: number, fallback: number) =>
  queryInteger(min, max).default(fallback).openapi({ type: "integer", minimum: min, maximum: max });

export const PageQuery = z.strictObject({
  page: queryInt(1, 1_000_000, 1).openapi({ example: 1, description: "1-based page number" }),
  size: queryInt(1, 100, 20).openapi({ example: 20, description: "Items per page (1–100, default 20)" }),
});

/** The contract's offset cap: deeper pages cost the database a scan of everything before them. */
export const MAX_PAGE_DEPTH = 10_000;

/**
 * A list query's refinement: page × size within MAX_PAGE_DEPTH. A list with keyset paging says so, and a
 * query that carries its cursor is not held to it (the cursor, not the offset, positions the page).
 */
export const limitPageDepth =
  (options: { cursor?: boolean } = {}) =>
  (query: { page: number; size: number; cursor?: string }, ctx: z.RefinementCtx) => {
    if (query.cursor !== undefined || query.page * query.size <= MAX_PAGE_DEPTH) return;
    const deeper = options.cursor ? "; use cursor (each page's nextCursor) to go deeper" : "";
    ctx.addIssue({ code: "custom", path: ["page"], message: `page × size must be at most ${MAX_PAGE_DEPTH}${deeper}` });
  };

export const pageOf = <T extends z.ZodTypeAny>(item: T, name: string) =>
  z
    .object({
      items: z.array(item),
      page: z.number().int(),
      size: z.number().int(),
      total: z.number().int(),
    })
    .openapi(name);

export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

export const IdempotencyKeyHeader = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(IDEMPOTENCY_KEY_MAX_LENGTH)
    .optional()
    .openapi({
      param: { name: "idempotency-key", in: "header" },
      description:
        "Makes the request safe to retry: the same key with the same body replays the stored response (kept 24 h, per user). Refusals made before any effect (4xx) are not stored: a retry is decided again.",
    }),
});

export const jsonBody = <T extends z.ZodTypeAny>(schema: T, description?: string) => ({
  required: true,
  description,
  content: { "application/json": { schema } },
});

/**
 * Answers with a body that is already serialised JSON (a cache hit is sent as stored, never parsed and
 * re-encoded). Typed as the route's response: the route's schema documents what the text holds.
 */
export const serialisedJson = (c: Context, body: string, status: 200 | 201 = 200) =>
  c.body(body, status, { "Content-Type": "application/json" }) as never;

export const jsonResponse = <T extends z.ZodTypeAny>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/**
 * C0 and C1 controls, DEL, line/paragraph separators and bidirectional overrides (which make text display
 * differently from what it says); tab, line feed and carriage return only where lines are allowed.
 * Zero-width joiners stay: emoji sequences need them.
 */
function hasControlCharacters(text: string, multiline: boolean): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (multiline && (code === 0x09 || code === 0x0a || code === 0x0d)) continue;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
    if (code === 0x2028 || code === 0x2029) return true;
    if ((code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)) return true;
  }
  return false;
}

/**
 * Free text from clients. Control characters are refused up front: PostgreSQL rejects NUL in text, and
 * the rest only ever serve to break logs and displays.
 */
export const PlainText = (max: number, options: { multiline?: boolean } = {}) =>
  z
    .string()
    // Length first: nothing else looks at an over-long string.
    .max(max, { abort: true })
    .refine((text) => !hasControlCharacters(text, options.multiline ?? false), "must not contain control characters");

/** Query and param schemas whose parse depends on nothing but its input: see `pure`. */
const pureSchemas = new WeakSet<object>();

/**
 * Marks a query or path-parameter schema whose result depends only on the text it parses (no clock, no
 * lookup): a route that declares it validates each distinct query string (or parameter) once and reuses the
 * result for the same text. A drop's refreshes ask the same few lists and pages again and again, and the list's
 * schema parse was ~15% of a cached list read's CPU. The schema, and so the OpenAPI document, is unchanged;
 * what a request gets is exactly what the parse would give it (frozen, since every such request shares it).
 */
export function pure<T extends z.ZodType>(schema: T): T {
  pureSchemas.add(schema);
  return schema;
}

export const isPure = (schema: object): boolean => pureSchemas.has(schema);

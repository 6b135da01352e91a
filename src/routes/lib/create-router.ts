import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { Router } from "hono/router";
import type { ZodError, ZodType } from "zod";
import type { FieldError } from "../../domain/shared/errors";
import type { AppEnv } from "./app-env";
import { problemResponses } from "./openapi-problems";
import { problem, problemResponse } from "./problem";
import { isPure } from "./schemas";

const UNKNOWN = { json: "is not a field of this request", query: "is not a parameter of this route" } as const;

export function fieldErrors(error: ZodError, target?: string): FieldError[] {
  const at = (path: PropertyKey[]) =>
    [target === "json" ? undefined : target, ...path].filter((p) => p !== undefined).join(".") || "(root)";
  return error.issues.flatMap((issue) =>
    // A strict object names every unknown key in one issue: one error per key, so each is named by its path.
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
          path: at([...issue.path, key]),
          message: UNKNOWN[target as keyof typeof UNKNOWN] ?? "is not allowed here",
        }))
      : [{ path: at(issue.path), message: issue.message }],
  );
}

/**
 * The query of a route that takes none: any parameter is a typo or a probe, refused like an unknown field of a
 * strict query schema (the same 400, the same `errors`). Checked by hand: a request without a query (nearly all
 * of them) costs one look at the URL instead of a schema parse.
 */
const refuseQuery: MiddlewareHandler<AppEnv> = async (c, next) => {
  const url = c.req.url;
  const start = url.indexOf("?");
  if (start === -1 || start === url.length - 1) return next();
  const names = Object.keys(c.req.query());
  if (names.length === 0) return next();
  const errors = names.map((name) => ({ path: `query.${name}`, message: UNKNOWN.query }));
  const detail = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
  return problemResponse(c, problem("VALIDATION_FAILED", detail, errors));
};

type Hook = (
  result: { success: boolean; error?: unknown; target: string; data: unknown },
  c: Context<AppEnv>,
) => unknown;

/** Any failed request schema is a 400 VALIDATION_FAILED with paths. */
const validationProblem: Hook = (result, c) => {
  if (!result.success) {
    const errors = fieldErrors(result.error as ZodError, result.target);
    const detail = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
    return problemResponse(c, problem("VALIDATION_FAILED", detail, errors));
  }
};

/** The map a route's remembered query validator fills, registered for rememberedQuery. */
function queriesOf(route: { method: string; path: string }): Map<string, unknown> {
  const key = `${route.method} ${route.path}`;
  let queries = rememberedQueries.get(key);
  if (queries === undefined) {
    queries = new Map();
    rememberedQueries.set(key, queries);
  }
  return queries;
}

/** Distinct texts remembered per route and target; started over when full. */
const REMEMBERED_INPUTS = 1024;
/** A longer text is parsed every time (a search term, a cursor): one-off, and a large key. */
const REMEMBERED_INPUT_LENGTH = 256;

/** The remembered queries of each route with a pure query schema, by `<method> <path>` (e.g. `get /api/v1/products`). */
const rememberedQueries = new Map<string, Map<string, unknown>>();

/**
 * The validated query a route remembers for this query string (frozen), if it has validated that text before
 * and still remembers it; else undefined (the route validates it when asked).
 */
export function rememberedQuery(method: string, path: string, text: string): object | undefined {
  return rememberedQueries.get(`${method} ${path}`)?.get(text) as object | undefined;
}

/**
 * The validator of a pure query or param schema: what @hono/zod-validator does (the same input object, the
 * same hook on the same result), remembered by the input's text.
 */
function rememberedValidator(
  target: "query" | "param",
  schema: ZodType,
  hook: Hook,
  remembered = new Map<string, unknown>(),
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const text = target === "query" ? queryText(c.req.url) : paramText(c.req.param() as Record<string, string>);
    let data = text.length <= REMEMBERED_INPUT_LENGTH ? remembered.get(text) : undefined;
    if (data === undefined) {
      const value = target === "query" ? queryObject(c) : c.req.param();
      const result = await schema.safeParseAsync(value);
      const answer = await hook({ data: value, ...result, target }, c);
      if (answer instanceof Response) return answer;
      if (!result.success) return c.json(result, 400);
      data = deepFreeze(result.data);
      if (text.length <= REMEMBERED_INPUT_LENGTH) {
        if (remembered.size >= REMEMBERED_INPUTS) remembered.clear();
        remembered.set(text, data);
      }
    }
    c.req.addValidatedData(target, data as object);
    return next();
  };
}

/** The raw query string: every query object (repeated names, decoding) is a function of it. */
const queryText = (url: string): string => {
  const start = url.indexOf("?");
  return start === -1 ? "" : url.slice(start + 1);
};

/** A route's params in their fixed order, decoded (`/` cannot occur in one, NUL never in a path). */
const paramText = (params: Record<string, string>): string => {
  let text = "";
  for (const name in params) text += `${params[name]}\u0000`;
  return text;
};

/** The query as hono's validator gives it to the schema: one value per name, an array for a repeated one. */
const queryObject = (c: Context<AppEnv>): Record<string, string | string[]> =>
  Object.fromEntries(Object.entries(c.req.queries()).map(([k, v]) => [k, v.length === 1 ? (v[0] as string) : v]));

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Every router shares this hook: any failed request schema is a 400 VALIDATION_FAILED with paths.
 * And one input rule for every route registered through it: a route without a query schema refuses every
 * query parameter, and every route documents the 400 that answers an unknown one (and the 503 of a backing
 * service that is down) (bodies and queries are
 * strict objects where they are declared; test/e2e/input-rule.test.ts holds every route to that).
 */
export function createRouter(options: { router?: Router<[unknown, unknown]> } = {}) {
  const router = new OpenAPIHono<AppEnv>({
    // Hono types its router by its own handler tuple.
    ...(options.router ? { router: options.router as never } : {}),
    defaultHook: validationProblem as never,
  });
  const register = router.openapi;
  router.openapi = ((route, handler, hook) => {
    const { query, params } = route.request ?? {};
    const documented = {
      ...route,
      // Any route may meet an unknown parameter (400), and any that reaches the database or Redis may find
      // it down (503 with Retry-After); a route's own entries for those statuses take precedence.
      responses: { ...problemResponses("VALIDATION_FAILED", "UNAVAILABLE"), ...route.responses },
    };
    const middleware = [...[route.middleware ?? []].flat(), ...(query ? [] : [refuseQuery])];
    const rememberQuery = query !== undefined && isPure(query);
    // Params only where no validator of the query runs after them: a query's errors come first, as before.
    const rememberParams = params !== undefined && isPure(params) && (query === undefined || rememberQuery);
    if (!rememberQuery && !rememberParams) return register({ ...documented, middleware }, handler, hook);
    // Documented as declared, validated by remembering validators instead of zod-openapi's, in its order: after
    // the route's middleware, the query before the params.
    const effectiveHook = (hook ?? validationProblem) as Hook;
    const { middleware: _middleware, hide, ...path } = documented;
    if (!hide) router.openAPIRegistry.registerPath(path as never);
    return register(
      {
        ...documented,
        request: {
          ...route.request,
          query: rememberQuery ? undefined : query,
          params: rememberParams ? undefined : params,
        },
        hide: true,
        middleware: [
          ...middleware,
          ...(rememberQuery ? [rememberedValidator("query", query, effectiveHook, queriesOf(route))] : []),
          ...(rememberParams ? [rememberedValidator("param", params, effectiveHook)] : []),
        ],
      },
      handler,
      hook,
    );
  }) as typeof register;
  return router;
}

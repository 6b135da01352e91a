/** The chain of an error and its causes (drizzle wraps driver errors in `cause`). */
function* causes(error: unknown): Generator<{ code?: unknown; name?: unknown; message?: unknown }> {
  for (
    let e = error, depth = 0;
    e && typeof e === "object" && depth < 10;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    yield e as { code?: unknown; name?: unknown; message?: unknown };
  }
}

/** The SQLSTATE of a PostgreSQL error (postgres.js and PGlite both put it in `code`). */
export function sqlState(error: unknown): string | undefined {
  for (const e of causes(error)) {
    if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

export const isUniqueViolation = (error: unknown) => sqlState(error) === "23505";

const CONNECTION_CODES = new Set([
  // postgres.js
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  // sockets
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
]);

/**
 * Whether the error means PostgreSQL or Redis could not be reached (not that a query was wrong):
 * SQLSTATE class 08 (connection), 57P0x (server shutting down), 53300 (too many connections),
 * driver connection codes, and ioredis giving up on a command.
 */
export function isDependencyUnavailable(error: unknown): boolean {
  for (const e of causes(error)) {
    const code = typeof e.code === "string" ? e.code : "";
    if (CONNECTION_CODES.has(code) || code.startsWith("08") || /^57P0[1-3]$/.test(code) || code === "53300")
      return true;
    if (e.name === "MaxRetriesPerRequestError") return true;
    if (typeof e.message === "string" && /^Connection is closed\.?$/.test(e.message)) return true;
  }
  return false;
}

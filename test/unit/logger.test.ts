import { describe, expect, it } from "bun:test";
import { type AccessLogEntry, createLogger, writeAccessLog } from "../../src/infra/logger";

function capture() {
  const lines: Record<string, any>[] = [];
  const logger = createLogger("info", {}, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe("createLogger", () => {
  it("logs a failed query's error with its stack and codes but without the values it carried", () => {
    const { logger, lines } = capture();
    const query = 'insert into "users" values ($1, $2)';
    // Shaped like drizzle's DrizzleQueryError around a PostgresError.
    const cause = Object.assign(new Error("violates check constraint"), {
      code: "23514",
      detail: "Failing row contains (kim@x.io, $argon2id$v=19$m=65536$hash)",
    });
    const error = Object.assign(
      new Error(`Failed query: ${query}\nparams: kim@x.io,$argon2id$v=19$m=65536$hash\nsecond line`, { cause }),
      { query, params: ["kim@x.io", "$argon2id$v=19$m=65536$hash\nsecond line"] },
    );
    logger.error({ err: error }, "unhandled error");
    const logged = JSON.stringify(lines[0]);
    expect(logged).not.toContain("argon2id");
    expect(logged).not.toContain("kim@x.io");
    expect(logged).not.toContain("second line");
    expect(lines[0]?.err.message).toBe(`Failed query: ${query}`);
    expect(lines[0]?.err.stack).toContain("logger.test.ts");
    expect(lines[0]?.err.cause).toMatchObject({ message: "violates check constraint", code: "23514" });
  });

  it("redacts passwords and authorization headers", () => {
    const { logger, lines } = capture();
    logger.info({ password: "hunter22", headers: { authorization: "Bearer abc" } }, "login");
    expect(JSON.stringify(lines[0])).not.toMatch(/hunter22|Bearer abc/);
  });

  it("writes one JSON object per line with level names and ISO times", () => {
    const { logger, lines } = capture();
    logger.warn({ requestId: "r-1" }, "careful");
    expect(lines[0]).toMatchObject({ level: "warn", service: "kicks", requestId: "r-1", msg: "careful" });
    expect(new Date(lines[0]?.time).toISOString()).toBe(lines[0]?.time);
  });
});

describe("writeAccessLog", () => {
  const entries: AccessLogEntry[] = [
    {
      requestId: "r-1",
      method: "GET",
      path: "/api/v1/products/42",
      route: "/api/v1/products/:productId",
      status: 200,
      ms: 3,
    },
    // Paths are the client's: quotes, backslashes, controls, non-ASCII and lone surrogates must stay valid JSON.
    { requestId: "r=2_x", method: "POST", path: '/a"b\\c\u0001\u2028é\ud800', route: "unmatched", status: 404, ms: 0 },
    // Every printable ASCII character but the two JSON escapes: written as they are.
    {
      requestId: "r-3",
      method: "GET",
      path: "/~!$&'()*+,;=:@%20[]{}^`|<>#?x y",
      route: "unmatched",
      status: 404,
      ms: 7,
    },
  ];

  it("writes exactly the line pino writes for the same fields, base fields included", () => {
    const fast: string[] = [];
    const slow: string[] = [];
    const base = { thread: "main" };
    const fastLogger = createLogger("info", base, { write: (line: string) => fast.push(line) });
    const slowLogger = createLogger("info", base, { write: (line: string) => slow.push(line) });
    for (const entry of entries) {
      writeAccessLog(fastLogger, entry);
      slowLogger.info({ ...entry }, "request");
    }
    expect(fast).toHaveLength(entries.length);
    const withoutTime = (line: string) => line.replace(/"time":"[^"]+"/, '"time":"T"');
    expect(fast.map(withoutTime)).toEqual(slow.map(withoutTime));
    for (const line of fast) {
      expect(line.endsWith("\n")).toBe(true);
      const parsed = JSON.parse(line);
      expect(new Date(parsed.time).toISOString()).toBe(parsed.time);
    }
  });

  it("writes nothing when info is off, and follows a level changed at run time", () => {
    const lines: string[] = [];
    const logger = createLogger("warn", {}, { write: (line: string) => lines.push(line) });
    writeAccessLog(logger, entries[0] as AccessLogEntry);
    expect(lines).toHaveLength(0);
    logger.level = "info";
    writeAccessLog(logger, entries[0] as AccessLogEntry);
    expect(lines).toHaveLength(1);
  });
});

import { describe, expect, it } from "bun:test";
import { createLogger } from "../../src/infra/logger";

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

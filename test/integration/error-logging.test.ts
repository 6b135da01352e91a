import { describe, expect, it } from "bun:test";
import { DrizzleUserRepository } from "../../src/infra/db/repositories/user-repository";
import { Transactions } from "../../src/infra/db/transactions";
import { createLogger } from "../../src/infra/logger";
import { openTestDatabase } from "../support/harness";

const users = new DrizzleUserRepository(new Transactions(openTestDatabase().db));

describe("logging a real database error", () => {
  it("keeps the constraint and SQLSTATE but none of the row's values", async () => {
    const lines: string[] = [];
    const logger = createLogger("info", {}, { write: (line: string) => lines.push(line) });
    const secretHash = `$argon2id$v=19$m=65536$${crypto.randomUUID()}`;
    // An upper-case email breaks the users_email_lower check: the database refuses the row.
    const error = await users
      .insert({
        id: Bun.randomUUIDv7(),
        email: "Victim@Example.com",
        passwordHash: secretHash,
        name: "first line\\nparams: second line",
        role: "BUYER",
        bio: null,
        businessRegistrationNumber: null,
        adminCode: null,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Error);
    logger.error({ err: error }, "unhandled error");
    const logged = lines.join("");
    expect(logged).not.toContain(secretHash);
    expect(logged).not.toContain("Victim@Example.com");
    expect(logged).not.toContain("second line");
    expect(logged).toContain("users_email_lower");
    expect(JSON.parse(logged).err.cause.code).toBe("23514");
  });
});

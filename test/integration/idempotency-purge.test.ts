import { describe, expect, it } from "bun:test";
import { IdempotencyService } from "../../src/domain/idempotency/idempotency-service";
import type { IdempotencyScope } from "../../src/domain/idempotency/ports";
import { DrizzleIdempotencyRepository } from "../../src/infra/db/repositories/idempotency-repository";
import { Transactions } from "../../src/infra/db/transactions";
import { createLogger } from "../../src/infra/logger";
import { systemClock } from "../../src/infra/system-clock";
import { scheduleIdempotencyPurge } from "../../src/workers/idempotency-purge";
import { openTestDatabase } from "../support/harness";

const transactions = new Transactions(openTestDatabase().db);
const repository = new DrizzleIdempotencyRepository(transactions);
const HOUR = 3600 * 1000;

const scope = (): IdempotencyScope => ({
  scope: Bun.randomUUIDv7(),
  method: "POST",
  path: "/x",
  key: crypto.randomUUID(),
});

describe("scheduleIdempotencyPurge", () => {
  it("deletes keys past their 24 h on schedule and keeps live ones", async () => {
    const now = Date.now();
    const [expired, live] = [scope(), scope()];
    const claim = (at: number) => ({
      requestHash: "h",
      claimToken: crypto.randomUUID(),
      now: new Date(at),
      leaseUntil: new Date(at + 60_000),
      expiresAt: new Date(at + 24 * HOUR),
    });
    await repository.claim(expired, claim(now - 25 * HOUR));
    await repository.claim(live, claim(now));

    const stop = scheduleIdempotencyPurge(
      new IdempotencyService(repository, transactions, systemClock),
      createLogger("silent"),
      20,
    );
    try {
      for (let i = 0; i < 100 && (await repository.find(expired)); i++) await Bun.sleep(20);
    } finally {
      stop();
    }
    expect(await repository.find(expired)).toBeUndefined();
    expect(await repository.find(live)).toMatchObject({ requestHash: "h", response: undefined });
  });
});

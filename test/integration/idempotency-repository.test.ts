import { describe, expect, it } from "bun:test";
import { count, lt } from "drizzle-orm";
import { IdempotencyService, IN_FLIGHT_LEASE_MS, KEY_TTL_MS } from "../../src/domain/idempotency/idempotency-service";
import type { IdempotencyScope, StoredResponse } from "../../src/domain/idempotency/ports";
import type { Clock } from "../../src/domain/shared/clock";
import { DrizzleIdempotencyRepository } from "../../src/infra/db/repositories/idempotency-repository";
import { idempotencyKeys } from "../../src/infra/db/schema";
import { Transactions } from "../../src/infra/db/transactions";
import { problemStatus } from "../../src/routes/lib/error-catalog";
import { domainErrorOf } from "../support/domain-error";
import { openTestDatabase } from "../support/harness";

const database = openTestDatabase();

const transactions = new Transactions(database.db);
const repository = new DrizzleIdempotencyRepository(transactions);

const SECOND = 1000;
const HOUR = 3600 * SECOND;

const newScope = (): IdempotencyScope => ({
  scope: Bun.randomUUIDv7(),
  method: "POST",
  path: "/api/v1/balances/charge",
  key: crypto.randomUUID(),
});
const later = (date: Date, ms: number) => new Date(date.getTime() + ms);
/** The fencing token of each key's latest successful claim, as the service keeps it for its request. */
const tokens = new Map<IdempotencyScope, string>();
/** Claims like the service does: a one-minute lease and a day to live, both counted from `now`. */
async function claimAt(id: IdempotencyScope, requestHash: string, now: Date): Promise<boolean> {
  const claimToken = crypto.randomUUID();
  const claimed = await repository.claim(id, {
    requestHash,
    claimToken,
    now,
    leaseUntil: later(now, 60 * SECOND),
    expiresAt: later(now, 24 * HOUR),
  });
  if (claimed) tokens.set(id, claimToken);
  return claimed;
}
const complete = (id: IdempotencyScope, response: StoredResponse) =>
  repository.complete(id, tokens.get(id) as string, response);
const release = (id: IdempotencyScope) => repository.release(id, tokens.get(id) as string);

const chargeResponse = (): StoredResponse => ({
  status: 200,
  // Stored as text: a replay must be byte for byte what the first request answered, spacing and all.
  body: `{"userId":"${crypto.randomUUID()}",  "balance":10000,"note":"한정판 ✓"}`,
  headers: { "content-type": "application/json" },
});

const rollback = new Error("rolled back on purpose");
/** Runs `work` in a transaction that is always rolled back, so purges cannot touch other tests' rows. */
async function inRolledBackTransaction(work: () => Promise<void>) {
  try {
    await transactions.withTransaction(async () => {
      await work();
      throw rollback;
    });
  } catch (error) {
    if (error !== rollback) throw error;
  }
}

describe("DrizzleIdempotencyRepository", () => {
  it("claims a new key and records it as in flight", async () => {
    const id = newScope();
    expect(await claimAt(id, "hash-1", new Date())).toBe(true);
    expect(await repository.find(id)).toEqual({ requestHash: "hash-1", response: undefined });
  });

  it("finds nothing for a key never claimed", async () => {
    expect(await repository.find(newScope())).toBeUndefined();
  });

  it("refuses a second claim of a live key and keeps the first request's hash", async () => {
    const id = newScope();
    const now = new Date();
    expect(await claimAt(id, "hash-1", now)).toBe(true);
    expect(await claimAt(id, "hash-1", later(now, SECOND))).toBe(false);
    expect(await claimAt(id, "hash-2", later(now, SECOND))).toBe(false);
    expect((await repository.find(id))?.requestHash).toBe("hash-1");
  });

  it("lets exactly one of many simultaneous claims of a new key win", async () => {
    const id = newScope();
    const now = new Date();
    const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => claimAt(id, `hash-${i}`, now)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect((await repository.find(id))?.requestHash).toBe(`hash-${claims.indexOf(true)}`);
  });

  it("lets exactly one of many simultaneous takeovers of an abandoned key win", async () => {
    const id = newScope();
    const first = new Date();
    await claimAt(id, "hash-abandoned", first);
    const takeover = later(first, 60 * SECOND + 1);
    const claims = await Promise.all(Array.from({ length: 10 }, () => claimAt(id, "hash-abandoned", takeover)));
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it("keeps the same key of different callers, methods and paths apart", async () => {
    const id = newScope();
    const now = new Date();
    expect(await claimAt(id, "hash-1", now)).toBe(true);
    expect(await claimAt({ ...id, scope: Bun.randomUUIDv7() }, "hash-1", now)).toBe(true);
    expect(await claimAt({ ...id, method: "PUT" }, "hash-1", now)).toBe(true);
    expect(await claimAt({ ...id, path: "/api/v1/orders" }, "hash-1", now)).toBe(true);
  });

  it("stores the completed response and finds it byte for byte", async () => {
    const id = newScope();
    const response = chargeResponse();
    await claimAt(id, "hash-1", new Date());
    await complete(id, response);
    expect(await repository.find(id)).toEqual({ requestHash: "hash-1", response });
  });

  it("lets an expired key be claimed again as a new request", async () => {
    const id = newScope();
    const first = new Date(Date.now() - 25 * HOUR);
    await claimAt(id, "hash-1", first);
    await complete(id, chargeResponse());
    expect(await claimAt(id, "hash-2", later(first, 24 * HOUR + 1))).toBe(true);
    expect(await repository.find(id)).toEqual({ requestHash: "hash-2", response: undefined });
  });

  it("lets a new request take over an in-flight key whose lease ran out, with a fresh lease", async () => {
    const id = newScope();
    const first = new Date();
    await claimAt(id, "hash-1", first);
    const takeover = later(first, 60 * SECOND + 1);
    expect(await claimAt(id, "hash-1", takeover)).toBe(true);
    expect(await claimAt(id, "hash-1", later(takeover, SECOND))).toBe(false);
  });

  it("never takes over a completed key whose lease has run out", async () => {
    const id = newScope();
    const first = new Date();
    const response = chargeResponse();
    await claimAt(id, "hash-1", first);
    await complete(id, response);
    expect(await claimAt(id, "hash-1", later(first, 2 * HOUR))).toBe(false);
    expect((await repository.find(id))?.response).toEqual(response);
  });

  it("releases an in-flight key, so the client's retry can claim it", async () => {
    const id = newScope();
    const now = new Date();
    await claimAt(id, "hash-1", now);
    await release(id);
    expect(await repository.find(id)).toBeUndefined();
    expect(await claimAt(id, "hash-1", later(now, SECOND))).toBe(true);
  });

  it("does not release a completed key", async () => {
    const id = newScope();
    const response = chargeResponse();
    await claimAt(id, "hash-1", new Date());
    await complete(id, response);
    await release(id);
    expect(await repository.find(id)).toEqual({ requestHash: "hash-1", response });
  });

  it("does not let a request with another body take over an abandoned key", async () => {
    const id = newScope();
    const first = new Date();
    await claimAt(id, "hash-1", first);
    expect(await claimAt(id, "hash-2", later(first, 2 * 60 * SECOND))).toBe(false);
    expect((await repository.find(id))?.requestHash).toBe("hash-1");
  });

  it("fences a request that lost its key: its response is not stored and its release deletes nothing", async () => {
    const id = newScope();
    const first = new Date();
    await claimAt(id, "hash-1", first);
    const staleToken = tokens.get(id) as string;
    await claimAt(id, "hash-1", later(first, 60 * SECOND + 1));
    expect(await repository.complete(id, staleToken, chargeResponse())).toBe(false);
    await repository.release(id, staleToken);
    expect(await repository.find(id)).toEqual({ requestHash: "hash-1", response: undefined });
    expect(await complete(id, chargeResponse())).toBe(true);
  });

  it("purges only the keys that expired before now", async () => {
    const now = new Date();
    const [expiredCompleted, expiredInFlight, live] = [newScope(), newScope(), newScope()];
    await inRolledBackTransaction(async () => {
      await claimAt(expiredCompleted, "hash-1", later(now, -25 * HOUR));
      await complete(expiredCompleted, chargeResponse());
      await claimAt(expiredInFlight, "hash-2", later(now, -24 * HOUR - SECOND));
      await claimAt(live, "hash-3", later(now, -23 * HOUR));
      const expiredRows = async () =>
        (
          await transactions.current
            .select({ n: count() })
            .from(idempotencyKeys)
            .where(lt(idempotencyKeys.expiresAt, now))
        )[0]?.n;

      const before = await expiredRows();
      expect(before).toBeGreaterThanOrEqual(2);
      expect(await repository.purgeExpired(now)).toBe(before as number);
      expect(await expiredRows()).toBe(0);
      expect(await repository.find(expiredCompleted)).toBeUndefined();
      expect(await repository.find(expiredInFlight)).toBeUndefined();
      expect(await repository.find(live)).toEqual({ requestHash: "hash-3", response: undefined });
    });
  });
});

describe("IdempotencyService", () => {
  /** A clock the test moves by hand. */
  function fakeClock(start = new Date()) {
    let now = start;
    return {
      now: () => now,
      sleep: async (ms: number) => {
        now = later(now, ms);
      },
      advance: (ms: number) => {
        now = later(now, ms);
      },
    } satisfies Clock & { advance(ms: number): void };
  }

  /** Begins a request with `hash` and lets it answer `response` (through the transaction that stores it). */
  async function answer(service: IdempotencyService, id: IdempotencyScope, hash: string, response: StoredResponse) {
    const decision = await service.begin(id, hash);
    if (decision.kind !== "proceed") throw new Error("expected to proceed");
    return service.runClaimed(id, decision.claimToken, async () => response);
  }

  it("lets the first request with a key proceed", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    expect(await service.begin(newScope(), "hash-1")).toEqual({ kind: "proceed", claimToken: expect.any(String) });
  });

  it("replays the stored response for the same key and body", async () => {
    const clock = fakeClock();
    const service = new IdempotencyService(repository, transactions, clock);
    const id = newScope();
    const response = chargeResponse();
    await answer(service, id, "hash-1", response);
    clock.advance(23 * HOUR);
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "replay", response });
  });

  it("answers IDEMPOTENCY_KEY_REUSED for the same key with a different body once completed", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    await answer(service, id, "hash-1", chargeResponse());
    const error = await domainErrorOf(service.begin(id, "hash-2"));
    expect(error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(problemStatus(error.code)).toBe(422);
  });

  it("answers IDEMPOTENCY_KEY_REUSED for a different body even while the first request is in flight", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    await service.begin(id, "hash-1");
    expect((await domainErrorOf(service.begin(id, "hash-2"))).code).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("answers IDEMPOTENCY_KEY_IN_USE for the same body while the first request is in flight", async () => {
    const clock = fakeClock();
    const service = new IdempotencyService(repository, transactions, clock);
    const id = newScope();
    await service.begin(id, "hash-1");
    clock.advance(IN_FLIGHT_LEASE_MS - SECOND);
    const error = await domainErrorOf(service.begin(id, "hash-1"));
    expect(error.code).toBe("IDEMPOTENCY_KEY_IN_USE");
    expect(problemStatus(error.code)).toBe(409);
  });

  it("lets a retry proceed once the first request's lease has run out", async () => {
    const clock = fakeClock();
    const service = new IdempotencyService(repository, transactions, clock);
    const id = newScope();
    await service.begin(id, "hash-1");
    clock.advance(IN_FLIGHT_LEASE_MS + 1);
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "proceed", claimToken: expect.any(String) });
  });

  it("lets a retry proceed after the first request failed on our side (5xx)", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    await answer(service, id, "hash-1", { status: 503, body: "", headers: {} });
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "proceed", claimToken: expect.any(String) });
  });

  it("treats a key older than its time to live as new, even with a different body", async () => {
    const clock = fakeClock(new Date(Date.now() - 2 * KEY_TTL_MS));
    const service = new IdempotencyService(repository, transactions, clock);
    const id = newScope();
    await answer(service, id, "hash-1", chargeResponse());
    clock.advance(KEY_TTL_MS + 1);
    expect(await service.begin(id, "hash-2")).toEqual({ kind: "proceed", claimToken: expect.any(String) });
  });

  it("purges the keys that expired by the clock's time", async () => {
    const clock = fakeClock();
    const service = new IdempotencyService(repository, transactions, clock);
    const id = newScope();
    await inRolledBackTransaction(async () => {
      await answer(service, id, "hash-1", chargeResponse());
      expect(await repository.find(id)).toBeDefined();
      clock.advance(KEY_TTL_MS + 1);
      expect(await service.purgeExpired()).toBeGreaterThanOrEqual(1);
      expect(await repository.find(id)).toBeUndefined();
    });
  });

  it("rolls back a request's writes when storing its response fails, and lets the retry run", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    const decision = await service.begin(id, "hash-1");
    if (decision.kind !== "proceed") throw new Error("expected to proceed");
    const written = newScope();
    const original = repository.complete.bind(repository);
    repository.complete = async () => {
      throw new Error("connection reset");
    };
    try {
      const attempt = service.runClaimed(id, decision.claimToken, async () => {
        // A write of the request itself, in the same transaction as the stored response.
        await claimAt(written, "side-effect", new Date());
        return chargeResponse();
      });
      await expect(attempt).rejects.toThrow("connection reset");
    } finally {
      repository.complete = original;
    }
    expect(await repository.find(written)).toBeUndefined();
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "proceed", claimToken: expect.any(String) });
  });

  it("stores a 4xx answer and keeps what the request completed, as it would without a key", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    const decision = await service.begin(id, "hash-1");
    if (decision.kind !== "proceed") throw new Error("expected to proceed");
    const [kept, undone] = [newScope(), newScope()];
    const refused = { status: 400, body: '{"code":"BALANCE_LIMIT_EXCEEDED"}', headers: {} };
    const stored = await service.runClaimed(id, decision.claimToken, async () => {
      await claimAt(kept, "completed-unit", new Date());
      // A unit of work that fails is undone on its own (a savepoint), before the refusal is answered.
      await transactions
        .withTransaction(async () => {
          await claimAt(undone, "failed-unit", new Date());
          throw new Error("refused");
        })
        .catch(() => {});
      return refused;
    });
    expect(stored).toBe(true);
    expect(await repository.find(kept)).toBeDefined();
    expect(await repository.find(undone)).toBeUndefined();
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "replay", response: refused });
  });

  it("does not store a 4xx answer refused before the request wrote anything, and releases the key", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    const decision = await service.begin(id, "hash-1");
    if (decision.kind !== "proceed") throw new Error("expected to proceed");
    const refused = { status: 409, body: '{"code":"COUPON_SOLD_OUT"}', headers: {} };
    const answered = await service.runClaimed(id, decision.claimToken, async () => refused);
    expect(answered).toBe(true);
    expect(await repository.find(id)).toBeUndefined();
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "proceed", claimToken: expect.any(String) });
  });

  it("rolls back everything and releases the key on a 5xx answer", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    const decision = await service.begin(id, "hash-1");
    if (decision.kind !== "proceed") throw new Error("expected to proceed");
    const written = newScope();
    const stored = await service.runClaimed(id, decision.claimToken, async () => {
      await claimAt(written, "side-effect", new Date());
      return { status: 503, body: "", headers: {} };
    });
    expect(stored).toBe(true);
    expect(await repository.find(written)).toBeUndefined();
    expect(await repository.find(id)).toBeUndefined();
  });

  it("rolls back a request that outlived its claim, and says so", async () => {
    const clock = fakeClock();
    const service = new IdempotencyService(repository, transactions, clock);
    const id = newScope();
    const first = await service.begin(id, "hash-1");
    if (first.kind !== "proceed") throw new Error("expected to proceed");
    const written = newScope();
    const stored = await service.runClaimed(id, first.claimToken, async () => {
      await claimAt(written, "side-effect", new Date());
      // Meanwhile the lease ran out and the client's retry took the key over. (Here the takeover runs in
      // this request's own transaction, which is rolled back with it; what is under test is the fencing.)
      clock.advance(IN_FLIGHT_LEASE_MS + 1);
      const retry = new IdempotencyService(repository, transactions, clock);
      expect((await retry.begin(id, "hash-1")).kind).toBe("proceed");
      return chargeResponse();
    });
    expect(stored).toBe(false);
    expect(await repository.find(written)).toBeUndefined();
  });
});

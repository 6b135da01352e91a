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
const embedded = database.kind === "embedded";

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
/** Claims through `repo` with a one-minute lease and a day to live. */
const claimWith = (repo: DrizzleIdempotencyRepository, id: IdempotencyScope, requestHash: string, now: Date) =>
  repo.claim(id, {
    requestHash,
    claimToken: crypto.randomUUID(),
    now,
    leaseUntil: later(now, 60 * SECOND),
    expiresAt: later(now, 24 * HOUR),
  });
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
    expect(await repository.find(id)).toMatchObject({ requestHash: "hash-1", response: undefined });
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
    expect(await repository.find(id)).toMatchObject({ requestHash: "hash-1", response });
  });

  it("lets an expired key be claimed again as a new request", async () => {
    const id = newScope();
    const first = new Date(Date.now() - 25 * HOUR);
    await claimAt(id, "hash-1", first);
    await complete(id, chargeResponse());
    expect(await claimAt(id, "hash-2", later(first, 24 * HOUR + 1))).toBe(true);
    expect(await repository.find(id)).toMatchObject({ requestHash: "hash-2", response: undefined });
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
    expect(await repository.find(id)).toMatchObject({ requestHash: "hash-1", response });
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
    expect(await repository.find(id)).toMatchObject({ requestHash: "hash-1", response: undefined });
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
      expect(await repository.find(live)).toMatchObject({ requestHash: "hash-3", response: undefined });
    });
  });
});

describe("DrizzleIdempotencyRepository, inside a transaction", () => {
  it("takes a key's lock without writing, and tells a second transaction it is taken", async () => {
    const id = newScope();
    await transactions.withTransaction(async () => {
      expect(await repository.lockAndFind(id)).toEqual({ free: true, record: undefined });
      // Nothing written: the lock is PostgreSQL's, not a row (a refusal after it still counts as before any effect).
      expect(await transactions.hasWritten()).toBe(false);
      if (embedded) return;
      // Another session (its own transactions, so another connection of the pool) finds the key taken.
      const elsewhere = new Transactions(database.db);
      const otherRepository = new DrizzleIdempotencyRepository(elsewhere);
      const seen = await elsewhere.withTransaction(() => otherRepository.lockAndFind(id));
      expect(seen.free).toBe(false);
      expect(await claimWith(otherRepository, id, "hash-1", new Date())).toBe(false);
    });
    expect(await claimAt(id, "hash-1", new Date())).toBe(true);
  });

  it("stores an answer with its claim in one statement, never over a live key", async () => {
    const id = newScope();
    const now = new Date();
    const response = chargeResponse();
    const claim = { requestHash: "hash-1", claimToken: crypto.randomUUID(), now, expiresAt: later(now, 24 * HOUR) };
    expect(await repository.claimAnswered(id, claim, response)).toBe(true);
    expect(await repository.find(id)).toMatchObject({ requestHash: "hash-1", response, lockedUntil: null });
    expect(await repository.claimAnswered(id, { ...claim, requestHash: "hash-2" }, chargeResponse())).toBe(false);
    expect((await repository.find(id))?.response).toEqual(response);
    // Past its 24 h the key is new again.
    const dayLater = { ...claim, now: later(now, 24 * HOUR + 1), expiresAt: later(now, 48 * HOUR) };
    expect(await repository.claimAnswered(id, dayLater, chargeResponse())).toBe(true);
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

  /** Runs a one-unit request with `hash` that answers `response` (in the transaction that stores it). */
  const answer = (service: IdempotencyService, id: IdempotencyScope, hash: string, response: StoredResponse) =>
    service.runKeyed(id, hash, async () => response);

  /** A request that commits step by step: its claim commits with its first transaction (here, one that does nothing). */
  async function claimInFlight(service: IdempotencyService, id: IdempotencyScope, hash: string) {
    const claim = service.claimInFirstTransaction(id, hash);
    await service.runClaiming(claim, () => transactions.withTransaction(async () => {}));
    return claim;
  }

  it("lets the first request with a key proceed", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    expect(await service.begin(newScope(), "hash-1")).toEqual({ kind: "proceed" });
  });

  it("replays the stored response for the same key and body", async () => {
    const clock = fakeClock();
    const service = new IdempotencyService(repository, transactions, clock);
    const id = newScope();
    const response = chargeResponse();
    expect(await answer(service, id, "hash-1", response)).toBeUndefined();
    clock.advance(23 * HOUR);
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "replay", response });
    // A one-unit request with the key gets the replay without running.
    let ran = false;
    const replayed = await service.runKeyed(id, "hash-1", async () => {
      ran = true;
      return chargeResponse();
    });
    expect(replayed).toEqual(response);
    expect(ran).toBe(false);
  });

  it("answers IDEMPOTENCY_KEY_REUSED for the same key with a different body once completed", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    await answer(service, id, "hash-1", chargeResponse());
    const error = await domainErrorOf(service.begin(id, "hash-2"));
    expect(error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(problemStatus(error.code)).toBe(422);
    expect((await domainErrorOf(answer(service, id, "hash-2", chargeResponse()))).code).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("answers IDEMPOTENCY_KEY_REUSED for a different body even while the first request is in flight", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    await claimInFlight(service, id, "hash-1");
    expect((await domainErrorOf(service.begin(id, "hash-2"))).code).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("says a key is in flight while the first request's claim is live, and abandoned once its lease ran out", async () => {
    const clock = fakeClock();
    const service = new IdempotencyService(repository, transactions, clock);
    const id = newScope();
    const claim = await claimInFlight(service, id, "hash-1");
    expect(claim.committed).toBe(true);
    clock.advance(IN_FLIGHT_LEASE_MS - SECOND);
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "in flight", abandoned: false });
    // A one-unit request with a live in-flight key: 409.
    const error = await domainErrorOf(answer(service, id, "hash-1", chargeResponse()));
    expect(error.code).toBe("IDEMPOTENCY_KEY_IN_USE");
    expect(problemStatus(error.code)).toBe(409);
    clock.advance(2 * SECOND);
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "in flight", abandoned: true });
    // The retry's first transaction takes the abandoned key over.
    expect((await claimInFlight(service, id, "hash-1")).committed).toBe(true);
  });

  it("claims a key only with a transaction that commits: one rolled back leaves the key free, the next claims it", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    const claim = service.claimInFirstTransaction(id, "hash-1");
    await service.runClaiming(claim, async () => {
      await transactions
        .withTransaction(async () => {
          throw new Error("refused before any effect");
        })
        .catch(() => {});
      expect(claim.committed).toBe(false);
      expect(await repository.find(id)).toBeUndefined();
      await transactions.withTransaction(async () => {});
    });
    expect(claim.committed).toBe(true);
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "in flight", abandoned: false });
  });

  it("lets a retry proceed after the first request failed on our side (5xx)", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    await answer(service, id, "hash-1", { status: 503, body: "", headers: {} });
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "proceed" });
  });

  it("treats a key older than its time to live as new, even with a different body", async () => {
    const clock = fakeClock(new Date(Date.now() - 2 * KEY_TTL_MS));
    const service = new IdempotencyService(repository, transactions, clock);
    const id = newScope();
    await answer(service, id, "hash-1", chargeResponse());
    clock.advance(KEY_TTL_MS + 1);
    expect(await service.begin(id, "hash-2")).toEqual({ kind: "proceed" });
    expect(await answer(service, id, "hash-2", chargeResponse())).toBeUndefined();
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
    const written = newScope();
    const original = repository.claimAnswered.bind(repository);
    repository.claimAnswered = async () => {
      throw new Error("connection reset");
    };
    try {
      const attempt = service.runKeyed(id, "hash-1", async () => {
        // A write of the request itself, in the same transaction as the stored response.
        await claimAt(written, "side-effect", new Date());
        return chargeResponse();
      });
      await expect(attempt).rejects.toThrow("connection reset");
    } finally {
      repository.claimAnswered = original;
    }
    expect(await repository.find(written)).toBeUndefined();
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "proceed" });
  });

  it("stores a 4xx answer and keeps what the request completed, as it would without a key", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    const [kept, undone] = [newScope(), newScope()];
    const refused = { status: 400, body: '{"code":"BALANCE_LIMIT_EXCEEDED"}', headers: {} };
    const replay = await service.runKeyed(id, "hash-1", async () => {
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
    expect(replay).toBeUndefined();
    expect(await repository.find(kept)).toBeDefined();
    expect(await repository.find(undone)).toBeUndefined();
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "replay", response: refused });
  });

  it("does not store a 4xx answer refused before the request wrote anything, and leaves the key free", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    const refused = { status: 409, body: '{"code":"COUPON_SOLD_OUT"}', headers: {} };
    expect(await service.runKeyed(id, "hash-1", async () => refused)).toBeUndefined();
    expect(await repository.find(id)).toBeUndefined();
    expect(await service.begin(id, "hash-1")).toEqual({ kind: "proceed" });
  });

  it("rolls back everything and keeps no key on a 5xx answer", async () => {
    const service = new IdempotencyService(repository, transactions, fakeClock());
    const id = newScope();
    const written = newScope();
    const replay = await service.runKeyed(id, "hash-1", async () => {
      await claimAt(written, "side-effect", new Date());
      return { status: 503, body: "", headers: {} };
    });
    expect(replay).toBeUndefined();
    expect(await repository.find(written)).toBeUndefined();
    expect(await repository.find(id)).toBeUndefined();
  });

  it.skipIf(embedded)(
    "rolls back a request whose key another request answered meanwhile, and answers as that one did",
    async () => {
      const service = new IdempotencyService(repository, transactions, fakeClock());
      const id = newScope();
      const written = newScope();
      const theirs = chargeResponse();
      // Another session (its own connection) commits an answer for the key while this request runs: what a
      // request whose first look predates that commit meets at its end.
      const elsewhere = new DrizzleIdempotencyRepository(new Transactions(database.db));
      const replay = await service.runKeyed(id, "hash-1", async () => {
        await claimAt(written, "side-effect", new Date());
        const now = new Date();
        const claim = { requestHash: "hash-1", claimToken: "theirs", now, expiresAt: later(now, 24 * HOUR) };
        expect(await elsewhere.claimAnswered(id, claim, theirs)).toBe(true);
        return chargeResponse();
      });
      expect(replay).toEqual(theirs);
      expect(await repository.find(written)).toBeUndefined();
      expect((await repository.find(id))?.response).toEqual(theirs);
    },
  );
});

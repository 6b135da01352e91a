import { describe, expect, it } from "bun:test";
import { BalanceService, MAX_BALANCE } from "../../src/domain/balances/balance-service";
import type { Balance, BalanceChange, BalanceRepository } from "../../src/domain/balances/ports";
import { domainErrorOf } from "../support/domain-error";

const USER = "01936b2c-7f00-7c3a-9d2e-5b1f0a4e8c11";

/** A balance held in memory; `concurrentWriters` other writers win the first races, as on a hot balance. */
function balanceStore(start: number, concurrentWriters = 0) {
  let current: Balance = { userId: USER, balance: start, version: 7, updatedAt: new Date() };
  let racesToLose = concurrentWriters;
  const calls: string[] = [];
  const apply = (change: BalanceChange) => {
    current = { ...current, balance: current.balance + change.delta, version: current.version + 1 };
    return current;
  };
  const repository: BalanceRepository = {
    open: async () => {},
    find: async (userId) => (userId === USER ? current : undefined),
    changeIfVersion: async (change, expectedVersion) => {
      calls.push("changeIfVersion");
      if (racesToLose > 0) {
        racesToLose--;
        current = { ...current, version: current.version + 1 }; // someone else's write got there first
        return undefined;
      }
      return expectedVersion === current.version ? apply(change) : undefined;
    },
    changeWithinBounds: async (change, min, max) => {
      calls.push("changeWithinBounds");
      const next = current.balance + change.delta;
      return next >= min && next <= max ? apply(change) : undefined;
    },
    listLedger: async (_, page) => ({ items: [], ...page, total: 0 }),
  };
  return { repository, calls, balance: () => current };
}

const service = (repository: BalanceRepository) =>
  new BalanceService({ balances: repository, newId: () => crypto.randomUUID(), backoff: async () => {} });

describe("BalanceService.applyChange", () => {
  it("lands a change with one conditional update when nobody else writes", async () => {
    const store = balanceStore(1000);
    const result = await service(store.repository).applyChange(USER, 500, "CHARGE", null);
    expect(result.balance).toBe(1500);
    expect(store.calls).toEqual(["changeIfVersion"]);
  });

  it("retries lost optimistic races with a fresh read", async () => {
    const store = balanceStore(1000, 2);
    expect((await service(store.repository).applyChange(USER, 500, "CHARGE", null)).balance).toBe(1500);
    expect(store.calls).toEqual(["changeIfVersion", "changeIfVersion", "changeIfVersion"]);
  });

  it("falls back to a guarded relative update after three lost races, so the change still lands once", async () => {
    const store = balanceStore(1000, 100);
    expect((await service(store.repository).applyChange(USER, 500, "CHARGE", null)).balance).toBe(1500);
    expect(store.calls).toEqual(["changeIfVersion", "changeIfVersion", "changeIfVersion", "changeWithinBounds"]);
  });

  it("refuses to go over the cap before writing anything", async () => {
    const store = balanceStore(MAX_BALANCE - 10);
    const error = await domainErrorOf(service(store.repository).applyChange(USER, 11, "CHARGE", null));
    expect(error.code).toBe("BALANCE_LIMIT_EXCEEDED");
    expect(store.calls).toEqual([]);
    expect(store.balance().balance).toBe(MAX_BALANCE - 10);
  });

  it("accepts reaching the cap exactly", async () => {
    const store = balanceStore(MAX_BALANCE - 10);
    expect((await service(store.repository).applyChange(USER, 10, "CHARGE", null)).balance).toBe(MAX_BALANCE);
  });

  it.each(["REFUND", "REVERSAL"] as const)(
    "credits a %s past the cap: money owed back is never refused (the cap bounds top-ups only)",
    async (type) => {
      const store = balanceStore(MAX_BALANCE - 10);
      expect((await service(store.repository).applyChange(USER, 5_000, type, "r-1")).balance).toBe(MAX_BALANCE + 4_990);
    },
  );

  it.each(["REFUND", "REVERSAL"] as const)("credits a %s past the cap on the guarded path too", async (type) => {
    const store = balanceStore(MAX_BALANCE, 100);
    expect((await service(store.repository).applyChange(USER, 5_000, type, "r-1")).balance).toBe(MAX_BALANCE + 5_000);
    expect(store.calls.at(-1)).toBe("changeWithinBounds");
  });

  it("refuses a top-up of a balance already past the cap (after a refund)", async () => {
    const store = balanceStore(MAX_BALANCE + 5_000);
    const error = await domainErrorOf(service(store.repository).applyChange(USER, 1, "CHARGE", null));
    expect(error.code).toBe("BALANCE_LIMIT_EXCEEDED");
    expect(store.calls).toEqual([]);
  });

  it("refuses a debit larger than the balance with INSUFFICIENT_BALANCE", async () => {
    const store = balanceStore(100);
    expect((await domainErrorOf(service(store.repository).applyChange(USER, -101, "PAYMENT", "p-1"))).code).toBe(
      "INSUFFICIENT_BALANCE",
    );
  });

  it("explains a refusal of the guarded update with the limit it hit", async () => {
    const store = balanceStore(MAX_BALANCE - 10, 100);
    // Reads say there is room, but by the time the guarded update runs the balance is full.
    const { repository } = store;
    const full: BalanceRepository = {
      ...repository,
      find: async (userId) => {
        const found = await repository.find(userId);
        return found && store.calls.includes("changeWithinBounds") ? { ...found, balance: MAX_BALANCE } : found;
      },
      changeWithinBounds: async (...args) => {
        store.calls.push("changeWithinBounds");
        return args[2] === MAX_BALANCE ? undefined : repository.changeWithinBounds(...args);
      },
    };
    expect((await domainErrorOf(service(full).applyChange(USER, 5, "CHARGE", null))).code).toBe(
      "BALANCE_LIMIT_EXCEEDED",
    );
  });

  it("answers USER_NOT_FOUND for an unknown user", async () => {
    const store = balanceStore(0);
    const error = await domainErrorOf(service(store.repository).applyChange(crypto.randomUUID(), 5, "CHARGE", null));
    expect(error.code).toBe("USER_NOT_FOUND");
  });
});

describe("BalanceService.charge", () => {
  it.each([0, -1, 1.5, 10_000_001, Number.NaN])("refuses an amount of %p", async (amount) => {
    const store = balanceStore(0);
    const error = await domainErrorOf(service(store.repository).charge({ userId: USER, role: "BUYER" }, USER, amount));
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.errors?.[0]?.path).toBe("amount");
  });

  it("forbids charging another user's balance unless the caller is an admin", async () => {
    const store = balanceStore(0);
    const other = { userId: crypto.randomUUID(), role: "SELLER" as const };
    expect((await domainErrorOf(service(store.repository).charge(other, USER, 10))).code).toBe("FORBIDDEN");
    const admin = { userId: crypto.randomUUID(), role: "ADMIN" as const };
    expect((await service(store.repository).charge(admin, USER, 10)).balance).toBe(10);
  });
});

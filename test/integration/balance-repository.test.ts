import { describe, expect, it } from "bun:test";
import type { BalanceChange } from "../../src/domain/balances/ports";
import { DrizzleBalanceRepository } from "../../src/infra/db/repositories/balance-repository";
import { DrizzleUserRepository } from "../../src/infra/db/repositories/user-repository";
import { Transactions } from "../../src/infra/db/transactions";
import { openTestDatabase } from "../support/harness";

const transactions = new Transactions(openTestDatabase().db);
const balances = new DrizzleBalanceRepository(transactions);
const users = new DrizzleUserRepository(transactions);

async function newBalance(): Promise<string> {
  const id = Bun.randomUUIDv7();
  await users.insert({
    id,
    email: `balance-${crypto.randomUUID()}@test.kicks`,
    passwordHash: "not-a-real-hash",
    name: "Balance",
    role: "BUYER",
    bio: null,
    businessRegistrationNumber: null,
    adminCode: null,
  });
  await balances.open(id);
  return id;
}

const change = (userId: string, delta: number, referenceId: string | null = null): BalanceChange => ({
  userId,
  delta,
  type: delta > 0 ? "CHARGE" : "PAYMENT",
  referenceId,
  ledgerEntryId: Bun.randomUUIDv7(),
});

describe("DrizzleBalanceRepository", () => {
  it("applies a change at the expected version and writes its ledger row with the new version", async () => {
    const userId = await newBalance();
    const updated = await balances.changeIfVersion(change(userId, 700, "ref-1"), 0);
    expect(updated).toMatchObject({ userId, balance: 700, version: 1 });
    const ledger = await balances.listLedger(userId, { page: 1, size: 10 });
    expect(ledger.total).toBe(1);
    expect(ledger.items[0]).toMatchObject({
      type: "CHARGE",
      amount: 700,
      balanceAfter: 700,
      balanceVersion: 1,
      referenceId: "ref-1",
    });
    expect(ledger.items[0]?.createdAt).toEqual(updated?.updatedAt as Date);
  });

  it("changes nothing, ledger included, at a stale version", async () => {
    const userId = await newBalance();
    await balances.changeIfVersion(change(userId, 100), 0);
    expect(await balances.changeIfVersion(change(userId, 100), 0)).toBeUndefined();
    expect(await balances.find(userId)).toMatchObject({ balance: 100, version: 1 });
    expect((await balances.listLedger(userId, { page: 1, size: 10 })).total).toBe(1);
  });

  it("applies a relative change only inside the bounds", async () => {
    const userId = await newBalance();
    await balances.changeIfVersion(change(userId, 1000), 0);
    expect(await balances.changeWithinBounds(change(userId, -1001), 0, 5000)).toBeUndefined();
    expect(await balances.changeWithinBounds(change(userId, 4001), 0, 5000)).toBeUndefined();
    expect(await balances.changeWithinBounds(change(userId, 4000), 0, 5000)).toMatchObject({
      balance: 5000,
      version: 2,
    });
    expect(await balances.changeWithinBounds(change(userId, -5000), 0, 5000)).toMatchObject({ balance: 0, version: 3 });
    const ledger = await balances.listLedger(userId, { page: 1, size: 10 });
    expect(ledger.items.map((e) => [e.balanceVersion, e.amount])).toEqual([
      [3, -5000],
      [2, 4000],
      [1, 1000],
    ]);
  });

  it("finds nothing to change for an unknown user", async () => {
    const nobody = Bun.randomUUIDv7();
    expect(await balances.changeIfVersion(change(nobody, 1), 0)).toBeUndefined();
    expect(await balances.changeWithinBounds(change(nobody, 1), 0, 10)).toBeUndefined();
    expect(await balances.find(nobody)).toBeUndefined();
  });

  it("reports the total past the last page", async () => {
    const userId = await newBalance();
    await balances.changeIfVersion(change(userId, 1), 0);
    expect(await balances.listLedger(userId, { page: 3, size: 1 })).toEqual({ items: [], page: 3, size: 1, total: 1 });
  });

  // The cap bounds top-ups (CHARGE) only, in the service: a refund or a REVERSAL credits past it, so the
  // database must not refuse a balance above it (it did, with the balances_within_cap check, until the migration balances_uncapped_credits).
  it("lets a credit take a balance past the cap: the cap is the service's rule for top-ups, not the table's", async () => {
    const userId = await newBalance();
    expect(await balances.changeWithinBounds(change(userId, 1_000_000_001), 0, 2_000_000_000)).toMatchObject({
      balance: 1_000_000_001,
    });
  });

  it("is refused by the database below zero even if a caller skipped the service's check", async () => {
    const userId = await newBalance();
    await expect(balances.changeWithinBounds(change(userId, -1), -10, 10)).rejects.toThrow();
    expect(await balances.find(userId)).toMatchObject({ balance: 0, version: 0 });
  });
});

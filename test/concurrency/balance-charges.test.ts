import { describe, expect, it } from "bun:test";
import { eq } from "drizzle-orm";
import { MAX_BALANCE } from "../../src/domain/balances/balance-service";
import { idempotencyKeys } from "../../src/infra/db/schema";
import { hasPostgres, servedTestApp } from "../support/harness";
import { holdRowLock } from "../support/row-locks";

const url = globalThis.kicksTest.services.databaseUrl as string;

// Real sockets: a Bun server on a free port and `fetch` from the test, so requests truly run in parallel
// over separate connections and the database sees concurrent transactions.
const { t, base } = await servedTestApp();

async function getJson(path: string, token: string): Promise<any> {
  return (await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${token}` } })).json();
}

function charge(token: string, userId: string, amount: number, key?: string) {
  return fetch(`${base}/api/v1/balances/charge`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      ...(key ? { "Idempotency-Key": key } : {}),
    },
    body: JSON.stringify({ userId, amount }),
  });
}

describe("concurrent charges", () => {
  it("lands every one of 200 parallel charges exactly once", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const amount = 1_234;
    const responses = await Promise.all(Array.from({ length: 200 }, () => charge(token, user.id, amount)));
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(200));

    const balance = await getJson(`/api/v1/balances/${user.id}`, token);
    expect(balance.balance).toBe(200 * amount);
    expect(balance.version).toBe(200);

    const ledger = await getJson(`/api/v1/balances/${user.id}/transactions?size=100`, token);
    expect(ledger.total).toBe(200);
    // Each charge saw a distinct balance, and the ledger lists them exactly as the balance moved, newest first.
    const page2 = await getJson(`/api/v1/balances/${user.id}/transactions?size=100&page=2`, token);
    const listed = [...ledger.items, ...page2.items].map((e: { balanceAfter: number }) => e.balanceAfter);
    expect(listed).toEqual(Array.from({ length: 200 }, (_, i) => (200 - i) * amount));
  });

  it("charges once when 20 parallel requests share one Idempotency-Key", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const key = crypto.randomUUID();
    const responses = await Promise.all(Array.from({ length: 20 }, () => charge(token, user.id, 5_000, key)));
    const statuses = responses.map((r) => r.status);
    // The winner answers 200; the rest see it in flight (409) or, once it finished, get its replay (200).
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    const fresh = responses.filter((r) => r.status === 200 && r.headers.get("Idempotent-Replayed") === null);
    expect(fresh).toHaveLength(1);

    const balance = await getJson(`/api/v1/balances/${user.id}`, token);
    expect(balance.balance).toBe(5_000);
  });

  it("lets exactly as many parallel charges land as fit under the 1,000,000,000 cap", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const { token: adminToken } = await t.registerUser("ADMIN");
    // 999,990,000: room for exactly 10 charges of 1,000.
    for (let i = 0; i < 99; i++) expect((await charge(adminToken, user.id, 10_000_000)).status).toBe(200);
    expect((await charge(adminToken, user.id, 9_990_000)).status).toBe(200);

    const responses = await Promise.all(Array.from({ length: 40 }, () => charge(token, user.id, 1_000)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 400)).toHaveLength(30);
    const refusals = await Promise.all(responses.filter((r) => r.status === 400).map((r) => r.json() as Promise<any>));
    expect(new Set(refusals.map((p) => p.code))).toEqual(new Set(["BALANCE_LIMIT_EXCEEDED"]));

    const balance = await getJson(`/api/v1/balances/${user.id}`, token);
    expect(balance).toMatchObject({ balance: 1_000_000_000, version: 110 });
    expect((await getJson(`/api/v1/balances/${user.id}/transactions?size=1`, token)).total).toBe(110);
  });
});

// A keyed top-up refused after it lost a race at the balance's row: its conditional UPDATE waited for the lock,
// which gave the key's transaction an id, then matched nothing (the version had moved), and the retry read a
// balance too full. Nothing was written, so the refusal must not be stored (contract: Idempotency): the same key
// runs again once the balance has room. PostgreSQL's "has an id" would say written: the balance statements count
// as the transaction's own writes only when they wrote (as an order's placement, writesOnlyWithRows).
describe.skipIf(!hasPostgres)("a keyed charge refused after waiting at the balance's row", () => {
  it("is not stored: nothing was written, so the key stays free", async () => {
    const { user, token } = await t.registerUser("BUYER");
    await t.container.services.balances.applyChange(user.id, MAX_BALANCE - 10_000, "CHARGE", null);
    const lock = await holdRowLock(url, (sql) => sql`select 1 from balances where user_id = ${user.id} for update`);
    const key = crypto.randomUUID();
    let refused: Response;
    try {
      const sent = charge(token, user.id, 8_000, key);
      while ((await lock.waitingFor()).length === 0) await Bun.sleep(25);
      // Another top-up lands while the charge waits: its version check then matches nothing, and 8,000 no longer fits.
      await lock.take(
        (sql) => sql`
          with moved as (
            update balances set balance = balance + 5000, version = version + 1, updated_at = clock_timestamp()
            where user_id = ${user.id} returning user_id, balance, version, updated_at)
          insert into balance_ledger (id, user_id, type, amount, balance_after, balance_version, reference_id, created_at)
          select gen_random_uuid(), user_id, 'CHARGE', 5000, balance, version, null, updated_at from moved`,
      );
      await lock.release();
      refused = await sent;
    } finally {
      await lock.end();
    }
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { code?: string }).code).toBe("BALANCE_LIMIT_EXCEEDED");
    const stored = await t.container.database.db
      .select({ key: idempotencyKeys.key })
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.key, key));
    expect(stored).toEqual([]);
  });
});

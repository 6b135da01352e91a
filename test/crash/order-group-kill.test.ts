import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { eq, inArray, sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { orderItems, products } from "../../src/infra/db/schema";
import { createTestApp, hasPostgres, type TestApp, testEnv } from "../support/harness";
import { invariantViolations } from "../support/orders";
import { freePort, waitForHealth } from "../support/processes";
import { createProductVia } from "../support/products";
import { holdRowLock } from "../support/row-locks";

// A group of orders (order_place_group) is one statement sent autocommit on the process's own group connection:
// when the process dies with it in flight, it commits all of its orders or none, and the books stay exact. The
// test makes the group's statement wait on a product row it holds, kills the server with SIGKILL there, and only
// then lets the row go.
const url = globalThis.kicksTest.services.databaseUrl as string;

describe.skipIf(!hasPostgres)("a server killed with a group of orders in flight", () => {
  let t: TestApp;
  let server: Bun.Subprocess | undefined;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    server?.kill("SIGKILL");
    await t?.close();
  });

  it("leaves all of the group's orders or none, and every invariant", async () => {
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    server = Bun.spawn(["bun", "src/index.ts"], {
      env: { ...process.env, ...testEnv(), PORT: String(port) } as Record<string, string>,
      stdout: "ignore",
      stderr: "pipe",
    });
    await waitForHealth(base, server);

    const seller = await t.registerUser("SELLER");
    const buyers = await Promise.all(Array.from({ length: 5 }, () => t.registerUser("BUYER")));
    // Groups are per first product (in id order): the lone order takes `lone`, the group's orders `lone` and `hot`,
    // so they wait behind it, and the group's statement, once `lone` is free, waits for `hot`.
    const [lone, hot] = [
      await createProductVia(t, seller.token, { price: 10_000, stock: 10 }),
      await createProductVia(t, seller.token, { price: 10_000, stock: 10 }),
    ].sort((a, b) => (a.id < b.id ? -1 : 1)) as unknown as [{ id: string }, { id: string }];
    const keys = buyers.map(() => crypto.randomUUID());
    const order = (buyer: (typeof buyers)[number], productIds: string[]) =>
      fetch(`${base}/api/v1/orders`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: `Bearer ${buyer.token}`,
          // Two of the group's four keyed: their keys' answers are written by the group's statement too.
          ...(buyers.indexOf(buyer) % 2 === 1 ? { "Idempotency-Key": keys[buyers.indexOf(buyer)] as string } : {}),
        },
        body: JSON.stringify({
          userId: buyer.user.id,
          items: productIds.map((productId) => ({ productId, quantity: 1 })),
        }),
      }).catch(() => undefined);

    const loneLock = await holdRowLock(url, (sql) => sql`select 1 from products where id = ${lone.id} for update`);
    const hotLock = await holdRowLock(url, (sql) => sql`select 1 from products where id = ${hot.id} for update`);
    try {
      // The lone order's statement waits in flight; the four others join the group behind it.
      void order(buyers[0] as (typeof buyers)[number], [lone.id]);
      while ((await loneLock.waitingFor()).length === 0) await Bun.sleep(10);
      for (const buyer of buyers.slice(1)) void order(buyer, [lone.id, hot.id]);
      // Their reads done, they wait in the process (nothing to see in PostgreSQL): let them get there.
      await Bun.sleep(1500);
      await loneLock.release();
      // The group's statement now waits for the hot row: the process dies there.
      let waiting: number[] = [];
      for (let tries = 0; waiting.length === 0; tries++) {
        if (tries > 500) throw new Error("the group's statement never came to wait for the hot row");
        waiting = await hotLock.waitingFor();
        await Bun.sleep(10);
      }
      // It is the group's one statement (not the orders placed one by one).
      const [activity] = rowsOf<{ query: string }>(
        await t.container.database.db.execute(
          sql`select query from pg_stat_activity where pid = ${waiting[0] as number}`,
        ),
      );
      expect(activity?.query).toContain("group_member");
      server.kill("SIGKILL");
      await server.exited;
      // PostgreSQL ends the dead client's statement (client_connection_check_interval) before the row is let go.
      for (let tries = 0; await hotLock.connected(waiting[0] as number); tries++) {
        if (tries > 1000) throw new Error("the dead process's statement went on");
        await Bun.sleep(10);
      }
    } finally {
      await loneLock.end();
      await hotLock.end();
    }

    const db = t.container.database.db;
    const lines = await db
      .select()
      .from(orderItems)
      .where(inArray(orderItems.productId, [hot.id]));
    const [row] = await db.select().from(products).where(eq(products.id, hot.id));
    const [loneRow] = await db.select().from(products).where(eq(products.id, lone.id));
    // All or nothing: the four orders with the units moved once, or none of them and the stock untouched.
    expect([0, 4]).toContain(lines.length);
    expect({ stock: row?.stock, reserved: row?.reservedStock }).toEqual({
      stock: 10 - lines.length,
      reserved: lines.length,
    });
    expect({ stock: loneRow?.stock, reserved: loneRow?.reservedStock }).toEqual({
      stock: 9 - lines.length,
      reserved: 1 + lines.length,
    });
    // The keyed members' answers with their orders, or neither.
    const answered = rowsOf<{ n: number }>(
      await db.execute(
        sql`select count(*)::int as n from idempotency_keys where key in (${keys[1] as string}, ${keys[3] as string})`,
      ),
    );
    expect(answered[0]?.n).toBe(lines.length / 2);
    expect(await invariantViolations(t, [lone.id, hot.id])).toEqual([]);
  });
});

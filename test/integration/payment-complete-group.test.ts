import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import type { Sql } from "postgres";
import type { SalesDelta } from "../../src/domain/sales/sales-deltas";
import { salesOfPayment } from "../../src/domain/sales/sales-deltas";
import { openDatabase, rowsOf } from "../../src/infra/db/client";
import { createTestApp, hasPostgres, type TestApp } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { paymentCompletionProbes } from "../support/payment-completion";
import { createProductVia } from "../support/products";
import { holdRowLock } from "../support/row-locks";
import { waitFor } from "../support/wait";

// These tests hold a row lock while completions arrive, so that they wait in one group: the group's patience
// (COMPLETION_GROUP_PATIENCE_MS, after which the waiting ones go alone) is set past any hold of theirs.
const patient = { COMPLETION_GROUP_PATIENCE_MS: "60000" };

// Completions sent on their own go in groups while one is in flight (issue 18, "the hot row"): N buyers of one hot
// product cost one statement, one update of its row and one upsert of its rollup row, not N. What the group writes
// must be what N single completions write (each payment's PAYMENT_COMPLETED as its caller got it, the rollup the sum
// of salesOfPayment of the orders), a member that cannot complete must not fail the others, and a group is one
// statement: cut off mid-way it leaves nothing, for the recovery job. PostgreSQL (row locks hold the group back).
describe.skipIf(!hasPostgres)("payment completions in groups", () => {
  const url = globalThis.kicksTest.services.databaseUrl as string;
  let sent: string[] = [];
  // Opened only where the tests run (a skipped describe's body still runs, on PGlite too).
  const database = hasPostgres ? openDatabase({ url, poolSize: 20 }) : undefined;
  if (database) {
    const client = (database.db as unknown as { $client: Sql }).$client;
    (client.options as { debug: unknown }).debug = (_connection: number, query: string) => void sent.push(query);
  }
  let t: TestApp;
  let probes: ReturnType<typeof paymentCompletionProbes>;
  afterAll(async () => {
    await t?.close();
    await database?.close();
  });
  /** Completion statements sent (single or grouped: only they add to the sales rollup in a CTE). */
  const completionStatements = () => sent.filter((query) => query.includes("sales_added as (")).length;

  async function setUp() {
    t ??= await createTestApp({ database, env: patient });
    probes ??= paymentCompletionProbes(t, "test_group_rollup_fails");
    const sellers = [await t.registerUser("SELLER"), await t.registerUser("SELLER")];
    const product = (seller: number, category: string, price: number) =>
      createProductVia(t, (sellers[seller] as { token: string }).token, { price, stock: 100, category });
    const hot = await product(0, "running", 10_000);
    const others = [await product(1, "running", 12_000), await product(0, "skate", 15_000)];
    return { hot, others };
  }

  const productOf = async (id: string) =>
    rowsOf<{ version: number; sold: number; reserved: number }>(
      await t.container.database.db.execute(
        sql`select version, sold_quantity as sold, reserved_stock as reserved from products where id = ${id}`,
      ),
    )[0] as { version: number; sold: number; reserved: number };

  /** Buyers with orders (placed before any payment): `items(i)` for the i-th. */
  async function ordersOf(count: number, items: (i: number) => { productId: string; quantity: number }[]) {
    const placed = [];
    for (let i = 0; i < count; i++) {
      const buyer = await probes.buyerWith(500_000);
      placed.push({ buyer, order: await placeOrder(t, buyer.token, buyer.user.id, items(i)) });
    }
    return placed;
  }

  /** The rollup N single completions write: the sum of salesOfPayment of each order, by row. */
  async function summedSales(orderIds: string[]) {
    const rows = new Map<string, SalesDelta>();
    for (const id of orderIds) {
      for (const delta of salesOfPayment(await probes.domainOrder(id))) {
        const key = `${delta.salesDay}|${delta.productId}|${delta.category}`;
        const row = rows.get(key);
        if (!row) rows.set(key, { ...delta });
        else {
          for (const field of [
            "quantity",
            "salesAmount",
            "orderLines",
            "orders",
            "sellerOrders",
            "categoryOrders",
            "sellerCategoryOrders",
          ] as const) {
            row[field] += delta[field];
          }
        }
      }
    }
    return [...rows.values()].sort((a, b) =>
      a.salesDay === b.salesDay ? (a.productId < b.productId ? -1 : 1) : a.salesDay < b.salesDay ? -1 : 1,
    );
  }

  /** Whether every one of these orders has a payment, each at the gateway step (its completion next). */
  const allAtGateway = async (orderIds: string[]) => {
    const statuses = await statusesOf(orderIds);
    return statuses.length === orderIds.length && statuses.every((s) => s === "GATEWAY_REQUESTED");
  };
  /**
   * Every order of `placed` paid at once while the test holds `productId`'s row: the first completion is sent alone
   * and waits there; the others reach their completion meanwhile (each asked the gateway, simulated in the
   * process) and wait behind it. The row let go, their answers. `sent` is emptied first.
   */
  async function payBehindHeldRow(
    productId: string,
    placed: { buyer: Parameters<TestApp["post"]>[2]; order: { id: string } }[],
  ): Promise<{ status: number; body: any }[]> {
    const orderIds = placed.map((p) => p.order.id);
    const lock = await holdRowLock(
      url,
      (session) => session`select id from products where id = ${productId} for update`,
    );
    sent = [];
    try {
      const paying = Promise.all(
        placed.map(({ buyer, order }) => t.post("/api/v1/payments/process", { orderId: order.id }, buyer)),
      );
      await waitFor("the first completion waiting", async () => (await lock.waitingFor()).length === 1);
      await waitFor("every payment at the gateway step", () => allAtGateway(orderIds));
      await Bun.sleep(200);
      await lock.release();
      return await paying;
    } finally {
      await lock.end();
    }
  }

  const statusesOf = async (orderIds: string[]) =>
    (await t.container.database.db.query.payments.findMany({ where: (p, { inArray }) => inArray(p.orderId, orderIds) }))
      .map((payment) => payment.status)
      .sort();

  it("sends concurrent completions of one hot product as one statement, its row updated once, written as single completions would", async () => {
    const { hot, others } = await setUp();
    // Lines over two sellers and two categories, given in either order, so the per-order first-line counters differ.
    const n = 12;
    const placed = await ordersOf(n, (i) =>
      i % 3 === 0
        ? [{ productId: hot.id, quantity: 1 }]
        : i % 3 === 1
          ? [
              { productId: (others[0] as { id: string }).id, quantity: 1 },
              { productId: hot.id, quantity: 2 },
            ]
          : [
              { productId: hot.id, quantity: 1 },
              { productId: (others[1] as { id: string }).id, quantity: 2 },
            ],
    );
    const orderIds = placed.map((p) => p.order.id);
    const before = await productOf(hot.id);

    // The test holds the hot row: the first completion is sent alone and waits; the others arrive meanwhile.
    const answers = await payBehindHeldRow(hot.id, placed);
    expect(answers.map((a) => a.status)).toEqual(placed.map(() => 200));

    // One statement alone (the first), one group of the other eleven: two updates of the hot row, not twelve. (A
    // completion slower than the others to reach the group would make a third statement: still one update each.)
    const statements = completionStatements();
    expect(statements).toBeGreaterThanOrEqual(2);
    expect(statements).toBeLessThanOrEqual(3);
    const after = await productOf(hot.id);
    expect(after.version - before.version).toBe(statements);
    expect(after.sold - before.sold).toBe(placed.reduce((sum, _p, i) => sum + (i % 3 === 1 ? 2 : 1), 0));
    expect(after.reserved).toBe(0);

    for (const [i, { order }] of placed.entries()) {
      const events = await probes.completedEvents(order.id);
      expect(events).toHaveLength(1);
      expect(events[0]?.payload).toEqual({ ...answers[i]?.body, orderStatus: "CONFIRMED" });
      expect(answers[i]?.body.history.map((step: { status: string }) => step.status).at(-1)).toBe("COMPLETED");
    }
    expect(await probes.rollupOf([hot.id, ...others.map((o) => o.id)])).toEqual(await summedSales(orderIds));
    expect(await invariantViolations(t, [hot.id, ...others.map((o) => o.id)])).toEqual([]);
  });

  it("completes the others of a group whose statement fails for one member, and that one exactly as alone", async () => {
    const { hot, others } = await setUp();
    const odd = others[1] as { id: string };
    const placed = await ordersOf(6, (i) =>
      i === 3
        ? [
            { productId: hot.id, quantity: 1 },
            { productId: odd.id, quantity: 1 },
          ]
        : [{ productId: hot.id, quantity: 1 }],
    );
    // Books made wrong on purpose: the odd product no longer holds its order's reserved unit.
    await t.container.database.db.execute(
      sql`update products set reserved_stock = 0, stock = stock + reserved_stock where id = ${odd.id}`,
    );
    const orderIds = placed.map((p) => p.order.id);
    const answers = await payBehindHeldRow(hot.id, placed);
    // The first alone, the group of five (failed: the odd member), then its five alone, each with its own outcome.
    expect(sent.filter((query) => query.includes("pay_locked as materialized")).length).toBeGreaterThanOrEqual(1);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 500, 200, 200]);
    const odd3 = placed[3] as (typeof placed)[number];
    expect(await probes.completedEvents(odd3.order.id)).toEqual([]);
    expect(
      (await t.container.database.db.query.orders.findFirst({ where: (o, { eq }) => eq(o.id, odd3.order.id) }))?.status,
    ).toBe("CREATED");
    for (const [i, { order }] of placed.entries()) {
      if (i !== 3) expect(await probes.completedEvents(order.id)).toHaveLength(1);
    }
    expect(await invariantViolations(t, [hot.id])).toEqual([]);

    // Mended, it completes alone (so no recovery run of this database meets it unsettleable).
    await t.container.database.db.execute(
      sql`update products set stock = stock - 1, reserved_stock = 1 where id = ${odd.id}`,
    );
    const [payment] = await t.container.database.db.query.payments.findMany({
      where: (p, { eq }) => eq(p.orderId, odd3.order.id),
    });
    const mended = await t.post("/api/v1/payments/confirm", { paymentId: payment?.id }, odd3.buyer);
    expect([mended.status, mended.body.status]).toEqual([200, "COMPLETED"]);
    expect(await probes.rollupOf([hot.id, odd.id])).toEqual(await summedSales(orderIds));
    expect(await invariantViolations(t, [hot.id, odd.id])).toEqual([]);
  });

  it("leaves nothing of a group whose connection is cut mid-statement; the recovery job completes its payments", async () => {
    const { hot, others } = await setUp();
    const first = others[0] as { id: string };
    // The first buyer's order holds another product: it goes alone and waits there, while the others gather.
    const placed = await ordersOf(5, (i) => [{ productId: i === 0 ? first.id : hot.id, quantity: 1 }]);
    const orderIds = placed.map((p) => p.order.id);
    const hotBefore = await productOf(hot.id);
    const firstLock = await holdRowLock(url, (s) => s`select id from products where id = ${first.id} for update`);
    const hotLock = await holdRowLock(url, (s) => s`select id from products where id = ${hot.id} for update`);
    const admin = await holdRowLock(url, async () => {});
    let answers: { status: number; body: any }[];
    let answered = false;
    try {
      const pay = ({ buyer, order }: (typeof placed)[number]) =>
        t.post("/api/v1/payments/process", { orderId: order.id }, buyer);
      // The first buyer's completion in flight (alone, waiting for its product) before the others pay.
      const payingFirst = pay(placed[0] as (typeof placed)[number]);
      await waitFor("the first completion waiting", async () => (await firstLock.waitingFor()).length === 1);
      const paying = Promise.all([payingFirst, ...placed.slice(1).map(pay)]).finally(() => {
        answered = true;
      });
      await waitFor("every payment at the gateway step", () => allAtGateway(orderIds));
      await Bun.sleep(200);
      await firstLock.release();
      // The group of four is sent and waits for the hot row: its session is cut (as a dying process's would be).
      await waitFor("the group waiting", async () => (await hotLock.waitingFor()).length === 1);
      const [group] = await hotLock.waitingFor();
      const [waiting] = rowsOf<{ query: string }>(
        await t.container.database.db.execute(sql`select query from pg_stat_activity where pid = ${group as number}`),
      );
      expect(waiting?.query).toContain("pay_locked as materialized");
      await admin.take((s) => s`select pg_terminate_backend(${group as number})`);
      // Its members then go alone, and wait for the hot row too: cut as well, so nothing completes them here.
      await waitFor("every request answered", async () => {
        for (const pid of await hotLock.waitingFor()) await admin.take((s) => s`select pg_terminate_backend(${pid})`);
        return answered;
      });
      answers = await paying;
    } finally {
      await firstLock.end();
      await hotLock.end();
      await admin.end();
    }
    // The first completed; the others' answers are the lost session's (5xx), their outcome unknown to them.
    expect(answers.map((a) => (a.status >= 500 ? "failed" : a.status))).toEqual([
      200,
      "failed",
      "failed",
      "failed",
      "failed",
    ]);
    expect((await productOf(hot.id)).sold).toBe(hotBefore.sold);
    for (const { order } of placed.slice(1)) expect(await probes.completedEvents(order.id)).toEqual([]);
    expect(await statusesOf(orderIds.slice(1))).toEqual([
      "GATEWAY_REQUESTED",
      "GATEWAY_REQUESTED",
      "GATEWAY_REQUESTED",
      "GATEWAY_REQUESTED",
    ]);
    expect(await invariantViolations(t, [hot.id])).toEqual([]);

    await t.container.database.db.execute(
      sql`update payments set next_check_at = now() - interval '1 second' where order_id in (${sql.join(
        orderIds.map((id) => sql`${id}::uuid`),
        sql`, `,
      )})`,
    );
    expect((await t.container.services.payments.recover()).settled).toBeGreaterThanOrEqual(4);
    expect(await statusesOf(orderIds)).toEqual(orderIds.map(() => "COMPLETED"));
    for (const { order } of placed) expect(await probes.completedEvents(order.id)).toHaveLength(1);
    expect(await probes.rollupOf([hot.id, first.id])).toEqual(await summedSales(orderIds));
    expect(await invariantViolations(t, [hot.id, first.id])).toEqual([]);
  });
});

// Two processes (two apps, each with its own pool and its own group of completions) on one database.
describe.skipIf(!hasPostgres)("payment completions in groups of two processes", () => {
  it("never deadlock, whatever order the lines of their orders share two hot products in", async () => {
    const apps = [await createTestApp({ env: patient }), await createTestApp({ env: patient })] as const;
    try {
      const [a] = apps;
      const probes = paymentCompletionProbes(a, "test_group_two_processes");
      const seller = await a.registerUser("SELLER");
      const hot = [
        await createProductVia(a, seller.token, { price: 10_000, stock: 500, category: "running" }),
        await createProductVia(a, seller.token, { price: 20_000, stock: 500, category: "skate" }),
      ];
      const ids = hot.map((p) => p.id);
      const placed = [];
      for (let i = 0; i < 24; i++) {
        const buyer = await probes.buyerWith(500_000);
        const items = ids.map((productId, n) => ({ productId, quantity: 1 + ((i + n) % 2) }));
        placed.push({ buyer, order: await placeOrder(a, buyer.token, buyer.user.id, i % 2 ? items.reverse() : items) });
      }
      const versionOfFirst = async () =>
        (await a.container.database.db.query.products.findFirst({ where: (p, { eq }) => eq(p.id, ids[0] as string) }))
          ?.version as number;
      const before = await versionOfFirst();
      // Half through each app, at once: both processes' groups take the same products' and rollup rows.
      const answers = await Promise.all(
        placed.map(({ buyer, order }, i) =>
          (apps[i % 2] as TestApp).post("/api/v1/payments/process", { orderId: order.id }, buyer),
        ),
      );
      expect(answers.map((r) => [r.status, r.body.status])).toEqual(placed.map(() => [200, "COMPLETED"]));
      // Grouped (fewer updates of the product's row than sales of it), not merely each alone.
      expect((await versionOfFirst()) - before).toBeLessThan(placed.length);
      for (const { order } of placed) expect(await probes.completedEvents(order.id)).toHaveLength(1);
      const expected = new Map<string, number>();
      for (const { order } of placed) {
        for (const d of salesOfPayment(await probes.domainOrder(order.id))) {
          expected.set(d.productId, (expected.get(d.productId) ?? 0) + d.quantity);
        }
      }
      const rows = await probes.rollupOf(ids);
      expect(rows.map((r) => [r.productId, r.quantity, r.orders])).toEqual(
        [...ids].sort().map((id) => [id, expected.get(id) ?? 0, [...ids].sort()[0] === id ? placed.length : 0]),
      );
      expect(await invariantViolations(a, ids)).toEqual([]);
    } finally {
      for (const app of apps) await app.close();
    }
  });
});

// Both drivers (embedded PGlite: one connection, so completions arriving while one runs always wait for it).
describe("payment completions in groups, on either driver", () => {
  it("groups concurrent completions of one product, each paid once, the rollup as single completions write it", async () => {
    const t = await createTestApp({ env: patient });
    try {
      const probes = paymentCompletionProbes(t, "test_group_any_driver");
      const seller = await t.registerUser("SELLER");
      const hot = await createProductVia(t, seller.token, { price: 10_000, stock: 100, category: "running" });
      const placed = [];
      for (let i = 0; i < 10; i++) {
        const buyer = await probes.buyerWith(100_000);
        const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: hot.id, quantity: 1 + (i % 2) }]);
        placed.push({ buyer, order });
      }
      const version = async () =>
        (await t.container.database.db.query.products.findFirst({ where: (p, { eq }) => eq(p.id, hot.id) }))
          ?.version as number;
      const before = await version();
      const answers = await Promise.all(
        placed.map(({ buyer, order }) => t.post("/api/v1/payments/process", { orderId: order.id }, buyer)),
      );
      expect(answers.map((a) => [a.status, a.body.status])).toEqual(placed.map(() => [200, "COMPLETED"]));
      // Ten sales of the hot row in fewer updates than ten (each completion statement updates it once).
      expect((await version()) - before).toBeLessThan(placed.length);
      for (const [i, { order }] of placed.entries()) {
        const events = await probes.completedEvents(order.id);
        expect(events.map((e) => e.payload)).toEqual([{ ...answers[i]?.body, orderStatus: "CONFIRMED" }]);
      }
      const expected = [];
      for (const { order } of placed) expected.push(...salesOfPayment(await probes.domainOrder(order.id)));
      const [row] = await probes.rollupOf([hot.id]);
      expect(row).toMatchObject({
        quantity: expected.reduce((sum, d) => sum + d.quantity, 0),
        salesAmount: expected.reduce((sum, d) => sum + d.salesAmount, 0),
        orderLines: placed.length,
        orders: placed.length,
        sellerOrders: placed.length,
        categoryOrders: placed.length,
        sellerCategoryOrders: placed.length,
      });
      expect(await invariantViolations(t, [hot.id])).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

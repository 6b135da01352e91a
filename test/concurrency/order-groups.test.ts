import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { products } from "../../src/infra/db/schema";
import { createTestApp, hasPostgres, type TestApp } from "../support/harness";
import { invariantViolations } from "../support/orders";
import { createProductVia } from "../support/products";
import { holdRowLock } from "../support/row-locks";

// Unkeyed orders of one hot product that become ready while another order's statement is in flight go as ONE
// statement (order_place_group): the product's row locked and updated once for all of them, never oversold, and
// any member the group does not take (or every member, when the group's statement fails) placed alone exactly as
// today. The test holds the product's row, so the first order's statement waits in flight (PostgreSQL's own wait)
// while the others join the group behind it.
const url = globalThis.kicksTest.services.databaseUrl as string;

describe.skipIf(!hasPostgres)("orders of one hot product placed as a group", () => {
  let t: TestApp;
  const logs: Record<string, any>[] = [];
  beforeAll(async () => {
    t = await createTestApp({ logs, env: { LOG_LEVEL: "warn" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const group = () => {
    const found = t.container.orderGroup;
    if (!found) throw new Error("no group of orders on this database");
    return found;
  };
  const versionOf = async (id: string) => {
    const [row] = await t.container.database.db
      .select({ version: products.version, stock: products.stock, reserved: products.reservedStock })
      .from(products)
      .where(eq(products.id, id));
    return row as { version: number; stock: number; reserved: number };
  };

  /**
   * One order sent while the test holds `productId`'s row (its statement waits, in flight), then `others` sent and
   * waiting in the group behind it, then the row let go: the first order's answer and the others', in order.
   */
  async function behindOneInFlight(
    productId: string,
    first: () => Promise<{ status: number; body: any }>,
    others: (() => Promise<{ status: number; body: any }>)[],
  ) {
    const lock = await holdRowLock(url, (sql) => sql`select 1 from products where id = ${productId} for update`);
    try {
      const lead = first();
      while ((await lock.waitingFor()).length === 0) await Bun.sleep(10);
      const rest = others.map((send) => send());
      for (let tries = 0; group().waiting < others.length; tries++) {
        if (tries > 500) throw new Error(`only ${group().waiting} of ${others.length} orders joined the group`);
        await Bun.sleep(10);
      }
      await lock.release();
      return { lead: await lead, rest: await Promise.all(rest) };
    } finally {
      await lock.end();
    }
  }

  it("places the orders that arrive while one is in flight by one statement and one update of the product's row", async () => {
    const seller = await t.registerUser("SELLER");
    const buyers = await Promise.all(Array.from({ length: 9 }, () => t.registerUser("BUYER")));
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 50 });
    const before = await versionOf(shoe.id);
    const groupsBefore = group().stats.groups;
    const order = (buyer: (typeof buyers)[number], quantity: number) => () =>
      t.post("/api/v1/orders", { userId: buyer.user.id, items: [{ productId: shoe.id, quantity }] }, buyer);

    const { lead, rest } = await behindOneInFlight(
      shoe.id,
      order(buyers[0] as (typeof buyers)[number], 1),
      buyers.slice(1).map((buyer, i) => order(buyer, 1 + (i % 3))),
    );

    expect(lead.status).toBe(201);
    expect(rest.map((res) => res.status)).toEqual(rest.map(() => 201));
    const quantities = [1, ...buyers.slice(1).map((_, i) => 1 + (i % 3))];
    const units = quantities.reduce((sum, q) => sum + q, 0);
    const after = await versionOf(shoe.id);
    // Two updates of the hot row (the lone order's, the group's) for nine orders.
    expect(after.version - before.version).toBe(2);
    expect({ stock: after.stock, reserved: after.reserved }).toEqual({ stock: 50 - units, reserved: units });
    expect(group().stats.groups - groupsBefore).toBe(1);
    // Each buyer got its own order as today's path answers it, and it is the order as read back.
    for (const [i, res] of [lead, ...rest].entries()) {
      const buyer = buyers[i] as (typeof buyers)[number];
      expect(res.body).toMatchObject({
        userId: buyer.user.id,
        status: "CREATED",
        totalAmount: 10_000 * (quantities[i] as number),
        items: [{ productId: shoe.id, quantity: quantities[i] }],
      });
      const read = await t.get(`/api/v1/orders/${res.body.id}`, buyer);
      expect(read.body).toEqual(res.body);
      const [event] = rowsOf(
        await t.container.database.db.execute(
          sql`select type, payload from order_events where aggregate_id = ${res.body.id as string}`,
        ),
      );
      expect(event).toEqual({ type: "ORDER_CREATED", payload: res.body });
    }
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("places keyed orders in a group with their keys' answers: a replay answers the same, the same key meanwhile 409", async () => {
    const seller = await t.registerUser("SELLER");
    const buyers = await Promise.all(Array.from({ length: 6 }, () => t.registerUser("BUYER")));
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 50 });
    const before = await versionOf(shoe.id);
    const groupsBefore = group().stats.groups;
    const keys = buyers.map(() => crypto.randomUUID());
    const body = (buyer: (typeof buyers)[number]) => ({
      userId: buyer.user.id,
      items: [{ productId: shoe.id, quantity: 1 }],
    });
    const keyed = (i: number) => () =>
      t.post("/api/v1/orders", body(buyers[i] as (typeof buyers)[number]), {
        token: (buyers[i] as (typeof buyers)[number]).token,
        headers: { "Idempotency-Key": keys[i] as string },
      });

    let sameKeyMeanwhile: { status: number; body: any } | undefined;
    const lock = await holdRowLock(url, (sql) => sql`select 1 from products where id = ${shoe.id} for update`);
    let lead: { status: number; body: any };
    let rest: { status: number; body: any }[];
    try {
      const leading = keyed(0)();
      while ((await lock.waitingFor()).length === 0) await Bun.sleep(10);
      const others = [1, 2, 3, 4, 5].map((i) => keyed(i)());
      for (let tries = 0; group().waiting < 5; tries++) {
        if (tries > 500) throw new Error(`only ${group().waiting} of 5 orders joined the group`);
        await Bun.sleep(10);
      }
      // A member waits in the group holding its key's lock: the same key again is in flight, at once.
      sameKeyMeanwhile = await keyed(3)();
      await lock.release();
      lead = await leading;
      rest = await Promise.all(others);
    } finally {
      await lock.end();
    }

    expect(sameKeyMeanwhile?.status).toBe(409);
    expect(sameKeyMeanwhile?.body.code).toBe("IDEMPOTENCY_KEY_IN_USE");
    expect([lead, ...rest].map((res) => res.status)).toEqual([201, 201, 201, 201, 201, 201]);
    expect(group().stats.groups - groupsBefore).toBe(1);
    const after = await versionOf(shoe.id);
    expect(after.version - before.version).toBe(2);
    expect({ stock: after.stock, reserved: after.reserved }).toEqual({ stock: 44, reserved: 6 });
    // Each key's stored answer is its order as answered: a retry replays it and places nothing more.
    for (const [i, res] of [lead, ...rest].entries()) {
      const replay = await keyed(i)();
      expect({ status: replay.status, body: replay.body }).toEqual({ status: 201, body: res.body });
      expect(res.body.userId).toBe((buyers[i] as (typeof buyers)[number]).user.id);
    }
    expect((await versionOf(shoe.id)).version).toBe(after.version);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("never oversells: members beyond the stock go alone and are refused as today", async () => {
    const seller = await t.registerUser("SELLER");
    const buyers = await Promise.all(Array.from({ length: 9 }, () => t.registerUser("BUYER")));
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 5 });
    const before = await versionOf(shoe.id);
    const fellBack = group().stats.fellBack;
    const order = (buyer: (typeof buyers)[number]) => () =>
      t.post("/api/v1/orders", { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] }, buyer);

    const { lead, rest } = await behindOneInFlight(
      shoe.id,
      order(buyers[0] as (typeof buyers)[number]),
      buyers.slice(1).map(order),
    );

    expect(lead.status).toBe(201);
    // The first four to join (in the order they joined) fit; the four beyond the stock are refused as an order
    // placed alone is refused when the stock is gone (400 INSUFFICIENT_STOCK, api.md), naming its line.
    expect(rest.map((res) => res.status).sort()).toEqual([201, 201, 201, 201, 400, 400, 400, 400]);
    for (const refused of rest.filter((res) => res.status !== 201)) {
      expect(refused.body).toMatchObject({
        code: "INSUFFICIENT_STOCK",
        detail: `Only 0 of ${shoe.name} left; 1 requested`,
        errors: [{ path: "items.0.quantity" }],
      });
    }
    expect(group().stats.fellBack - fellBack).toBe(4);
    const after = await versionOf(shoe.id);
    expect(after.version - before.version).toBe(2);
    expect({ stock: after.stock, reserved: after.reserved }).toEqual({ stock: 0, reserved: 5 });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("does not make a keyed order priced again wait for a group while its refused attempt holds the product's row", async () => {
    const seller = await t.registerUser("SELLER");
    const buyers = await Promise.all(Array.from({ length: 3 }, () => t.registerUser("BUYER")));
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 50 });
    const failed = group().stats.failed;
    const order = (buyer: (typeof buyers)[number]) =>
      t.post("/api/v1/orders", { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] }, buyer);

    const lock = await holdRowLock(url, (sql) => sql`select 1 from products where id = ${shoe.id} for update`);
    let answers: { status: number; body: any }[];
    let elapsed: number;
    try {
      // Keyed: its attempts share the key's transaction (an unkeyed order is priced again in a new one).
      const firstBuyer = buyers[0] as (typeof buyers)[number];
      const first = t.post(
        "/api/v1/orders",
        { userId: firstBuyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] },
        { token: firstBuyer.token, headers: { "Idempotency-Key": crypto.randomUUID() } },
      );
      while ((await lock.waitingFor()).length === 0) await Bun.sleep(10);
      const others = [order(buyers[1] as (typeof buyers)[number]), order(buyers[2] as (typeof buyers)[number])];
      for (let tries = 0; group().waiting < 2; tries++) {
        if (tries > 500) throw new Error(`only ${group().waiting} of 2 orders joined the group`);
        await Bun.sleep(10);
      }
      // Repriced under the first order's statement: it is refused holding the row (its reservation locked it),
      // the group behind it then waits for that row, and the first order, priced again, places its order again
      // in the same transaction. Had it joined the group, each would wait for the other (until lock_timeout).
      await lock.take(
        (sql) => sql`update products set price = price + 1000, version = version + 1 where id = ${shoe.id}`,
      );
      const released = performance.now();
      await lock.release();
      answers = await Promise.all([first, ...others]);
      elapsed = performance.now() - released;
    } finally {
      await lock.end();
    }
    expect(answers.map((res) => res.status)).toEqual([201, 201, 201]);
    expect(answers.map((res) => res.body.items[0].unitPrice)).toEqual([11_000, 11_000, 11_000]);
    expect(group().stats.failed - failed).toBe(0);
    expect(elapsed).toBeLessThan(5_000);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("places every member alone when the group's statement fails (a buyer that does not exist)", async () => {
    const seller = await t.registerUser("SELLER");
    const admin = await t.registerUser("ADMIN");
    const buyers = await Promise.all(Array.from({ length: 4 }, () => t.registerUser("BUYER")));
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 50 });
    const before = await versionOf(shoe.id);
    const fellBack = group().stats.fellBack;
    const failedGroups = async () => {
      const metrics = (await t.get<string>("/metrics")).body;
      const count = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics)?.[1] ?? "0");
      return { groups: count("order_group_failures_total"), members: count("order_group_failed_members_total") };
    };
    const failedBefore = await failedGroups();
    const warned = () => logs.filter((line) => String(line.msg).includes("group of orders failed")).length;
    const warnedBefore = warned();
    const order = (buyer: (typeof buyers)[number]) => () =>
      t.post("/api/v1/orders", { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] }, buyer);
    const nobody = () =>
      t.post("/api/v1/orders", { userId: crypto.randomUUID(), items: [{ productId: shoe.id, quantity: 1 }] }, admin);

    const { lead, rest } = await behindOneInFlight(shoe.id, order(buyers[0] as (typeof buyers)[number]), [
      order(buyers[1] as (typeof buyers)[number]),
      nobody,
      order(buyers[2] as (typeof buyers)[number]),
      order(buyers[3] as (typeof buyers)[number]),
    ]);

    expect(lead.status).toBe(201);
    expect(rest.map((res) => res.status)).toEqual([201, 404, 201, 201]);
    expect(rest[1]?.body.code).toBe("USER_NOT_FOUND");
    expect(group().stats.fellBack - fellBack).toBe(4);
    // An operator sees it (no caller does: each member answered alone), as for completions: a rising count is a
    // member that cannot be placed, a deadlock, or group connections refused (max_connections met).
    const failedAfter = await failedGroups();
    expect({
      groups: failedAfter.groups - failedBefore.groups,
      members: failedAfter.members - failedBefore.members,
    }).toEqual({
      groups: 1,
      members: 4,
    });
    expect(warned() - warnedBefore).toBe(1);
    const after = await versionOf(shoe.id);
    // The group wrote nothing: the lone order and the three placed alone after it.
    expect(after.version - before.version).toBe(4);
    expect({ stock: after.stock, reserved: after.reserved }).toEqual({ stock: 46, reserved: 4 });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });
  it("places groups again once the group connections were terminated (their backends ended by an admin)", async () => {
    const seller = await t.registerUser("SELLER");
    const buyers = await Promise.all(Array.from({ length: 3 }, () => t.registerUser("BUYER")));
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 50 });
    const order = (buyer: (typeof buyers)[number]) => () =>
      t.post("/api/v1/orders", { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] }, buyer);
    const aGroup = () =>
      behindOneInFlight(shoe.id, order(buyers[0] as (typeof buyers)[number]), [
        order(buyers[1] as (typeof buyers)[number]),
        order(buyers[2] as (typeof buyers)[number]),
      ]);
    // A group first, so a group connection is open.
    const first = await aGroup();
    expect([first.lead, ...first.rest].map((res) => res.status)).toEqual([201, 201, 201]);
    const admin = (await import("postgres")).default(url, { max: 1, onnotice: () => {} });
    try {
      // Every backend that ran a group's statement (idle now) is ended, as an admin or a failover would.
      const ended = await admin`select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and query like '%group_member%' and pid <> pg_backend_pid()
          and state = 'idle'`;
      expect(ended.length).toBeGreaterThan(0);
      await Bun.sleep(200);
      const { failed, groups } = group().stats;
      const { lead, rest } = await aGroup();
      expect([lead, ...rest].map((res) => res.status)).toEqual([201, 201, 201]);
      expect(group().stats.groups - groups).toBe(1);
      expect(group().stats.failed - failed).toBe(0);
    } finally {
      await admin.end();
    }
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("does not make a group of one product wait behind another product's group that waits for a row lock", async () => {
    // Two hot products, each with a lone order in flight and two orders waiting behind it. The first product's
    // group also needs a third product's row, held by another transaction: it waits for it in PostgreSQL. The
    // second product's group shares no row with it, so it must not wait for it (orders of different products do
    // not wait for each other), nor for lock_timeout to end that wait.
    const seller = await t.registerUser("SELLER");
    const buyers = await Promise.all(Array.from({ length: 6 }, () => t.registerUser("BUYER")));
    const hot = await createProductVia(t, seller.token, { price: 10_000, stock: 50 });
    const other = await createProductVia(t, seller.token, { price: 10_000, stock: 50 });
    const held = await createProductVia(t, seller.token, { price: 10_000, stock: 50 });
    const buyer = (i: number) => buyers[i] as (typeof buyers)[number];
    const order = (i: number, items: { productId: string; quantity: number }[]) =>
      t.post("/api/v1/orders", { userId: buyer(i).user.id, items }, buyer(i));
    const waitForGroup = async (count: number) => {
      for (let tries = 0; group().waiting < count; tries++) {
        if (tries > 500) throw new Error(`only ${group().waiting} of ${count} orders joined the groups`);
        await Bun.sleep(10);
      }
    };
    const groupsBefore = group().stats.groups;
    const lockOf = (id: string) => holdRowLock(url, (sql) => sql`select 1 from products where id = ${id} for update`);
    const [hotLock, otherLock, heldLock] = [await lockOf(hot.id), await lockOf(other.id), await lockOf(held.id)];
    try {
      // The hot product's group: its members' second line is the held product (the group's key is the first).
      const [first, second] = [hot.id, held.id].sort() as [string, string];
      if (first !== hot.id) {
        // Keep the hot product first in product-id order, so the group is keyed by it and waits on `held`.
        throw new Error("product ids out of order");
      }
      const hotLead = order(0, [{ productId: hot.id, quantity: 1 }]);
      while ((await hotLock.waitingFor()).length === 0) await Bun.sleep(10);
      const hotRest = [1, 2].map((i) =>
        order(i, [
          { productId: first, quantity: 1 },
          { productId: second, quantity: 1 },
        ]),
      );
      await waitForGroup(2);
      const otherLead = order(3, [{ productId: other.id, quantity: 1 }]);
      while ((await otherLock.waitingFor()).length === 0) await Bun.sleep(10);
      const otherRest = [4, 5].map((i) => order(i, [{ productId: other.id, quantity: 1 }]));
      await waitForGroup(4);
      // The hot product's lead goes: its group's statement is sent, and waits for the held product's row.
      await hotLock.release();
      expect((await hotLead).status).toBe(201);
      for (let tries = 0; (await heldLock.waitingFor()).length === 0; tries++) {
        if (tries > 500) throw new Error("the hot product's group never waited for the held row");
        await Bun.sleep(10);
      }
      // The other product's lead goes: its group runs while the hot one's still waits.
      await otherLock.release();
      expect((await otherLead).status).toBe(201);
      const started = performance.now();
      const answered = await Promise.race([Promise.all(otherRest), Bun.sleep(3_000).then(() => "waits" as const)]);
      expect(answered === "waits" ? "waits" : answered.map((res) => res.status)).toEqual([201, 201]);
      expect(performance.now() - started).toBeLessThan(3_000);
      await heldLock.release();
      expect((await Promise.all(hotRest)).map((res) => res.status)).toEqual([201, 201]);
    } finally {
      await Promise.all([hotLock.end(), otherLock.end(), heldLock.end()]);
    }
    expect(group().stats.groups - groupsBefore).toBe(2);
    expect(await invariantViolations(t, [hot.id, other.id, held.id])).toEqual([]);
  });
});

describe.skipIf(!hasPostgres)("a group's orders when their requests were answered first by the time limit", () => {
  let t: TestApp;
  beforeAll(async () => {
    // Long enough for sign-up's password hash on a loaded machine.
    t = await createTestApp({ env: { REQUEST_TIMEOUT_MS: "3000", PAYMENT_GATEWAY_TIMEOUT_MS: "100" } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("drops the product's cached details once the group committed, though every member's transaction rolled back", async () => {
    // Keyed members cut off by the time limit (503 Retry-After) roll their own transactions back, but the group
    // committed their orders and the product's stock: the product's details must not stay cached as before it.
    const group = t.container.orderGroup;
    if (!group) throw new Error("no group of orders on this database");
    const seller = await t.registerUser("SELLER");
    const buyers = await Promise.all(Array.from({ length: 3 }, () => t.registerUser("BUYER")));
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 50 });
    const keyed = (i: number) => {
      const buyer = buyers[i] as (typeof buyers)[number];
      return t.post(
        "/api/v1/orders",
        { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] },
        { token: buyer.token, headers: { "Idempotency-Key": crypto.randomUUID() } },
      );
    };
    // Cached as it is now.
    expect((await t.get(`/api/v1/products/${shoe.id}`)).body.stock).toBe(50);
    const grouped = group.stats.grouped;
    const lock = await holdRowLock(url, (sql) => sql`select 1 from products where id = ${shoe.id} for update`);
    try {
      const lead = keyed(0);
      while ((await lock.waitingFor()).length === 0) await Bun.sleep(10);
      const rest = [keyed(1), keyed(2)];
      for (let tries = 0; group.waiting < 2; tries++) {
        if (tries > 500) throw new Error(`only ${group.waiting} of 2 orders joined the group`);
        await Bun.sleep(10);
      }
      expect((await Promise.all([lead, ...rest])).map((res) => res.status)).toEqual([503, 503, 503]);
      await lock.release();
      for (let tries = 0; group.stats.grouped - grouped < 2; tries++) {
        if (tries > 500) throw new Error("the group never took its members");
        await Bun.sleep(10);
      }
    } finally {
      await lock.end();
    }
    // The members' transactions settle (roll back) right after the group answered them.
    await Bun.sleep(500);
    const [row] = await t.container.database.db
      .select({ stock: products.stock })
      .from(products)
      .where(eq(products.id, shoe.id));
    expect(row?.stock).toBe(48);
    expect((await t.get(`/api/v1/products/${shoe.id}`)).body.stock).toBe(48);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });
});

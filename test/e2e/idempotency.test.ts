import { afterAll, describe, expect, it } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { idempotencyKeys } from "../../src/infra/db/schema";
import { createTestApp, hasPostgres } from "../support/harness";
import { createProductVia } from "../support/products";

const t = await createTestApp();
const embedded = t.container.database.kind === "embedded";
afterAll(() => t.close());

const charge = (token: string, body: unknown, key?: string) =>
  t.post("/api/v1/balances/charge", body, { token, headers: key === undefined ? {} : { "Idempotency-Key": key } });

/** The idempotency keys kept for a user. */
const keysOf = async (userId: string) =>
  (await t.container.database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.scope, userId))).length;

const balanceOf = async (token: string, userId: string) =>
  (await t.get(`/api/v1/balances/${userId}`, { token })).body.balance as number;

describe("Idempotency-Key on POST /api/v1/balances/charge", () => {
  it("replays the stored response for the same key and body, charging once", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const key = crypto.randomUUID();
    const first = await charge(token, { userId: user.id, amount: 1000 }, key);
    const again = await charge(token, { userId: user.id, amount: 1000 }, key);
    expect(first.status).toBe(200);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    expect(again.status).toBe(200);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("content-type")).toBe(first.headers.get("content-type"));
    expect(await balanceOf(token, user.id)).toBe(1000);
  });

  it("answers 422 IDEMPOTENCY_KEY_REUSED for the same key with another body", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const key = crypto.randomUUID();
    await charge(token, { userId: user.id, amount: 1000 }, key);
    const reused = await charge(token, { userId: user.id, amount: 2000 }, key);
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(await balanceOf(token, user.id)).toBe(1000);
  });

  it("scopes keys per user: another user's identical key runs on its own", async () => {
    const a = await t.registerUser("BUYER");
    const b = await t.registerUser("BUYER");
    const key = crypto.randomUUID();
    expect((await charge(a.token, { userId: a.user.id, amount: 10 }, key)).status).toBe(200);
    const other = await charge(b.token, { userId: b.user.id, amount: 20 }, key);
    expect(other.status).toBe(200);
    expect(other.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await balanceOf(b.token, b.user.id)).toBe(20);
  });

  it("keeps no refused request: a retried bad request runs again, and leaves no key behind", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const key = crypto.randomUUID();
    const first = await charge(token, { userId: user.id, amount: 0 }, key);
    const again = await charge(token, { userId: user.id, amount: 0 }, key);
    expect(first.status).toBe(400);
    expect(again.status).toBe(400);
    expect(again.headers.get("Idempotent-Replayed")).toBeNull();
    expect(again.headers.get("content-type")).toContain("application/problem+json");
    expect(await keysOf(user.id)).toBe(0);
    // The key is free for the request done right.
    expect((await charge(token, { userId: user.id, amount: 5 }, key)).status).toBe(200);
    expect(await keysOf(user.id)).toBe(1);
  });

  it("does not grow a user's keys with refusals: 150 bad requests leave no row", async () => {
    const { user, token } = await t.registerUser("BUYER");
    for (let batch = 0; batch < 3; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => charge(token, { userId: user.id, amount: -1 }, crypto.randomUUID())),
      );
      expect(answers.every((a) => a.status === 400)).toBe(true);
    }
    // Refusals of a route that commits step by step (refunds) are not kept either.
    const refused = await t.post(
      "/api/v1/refunds",
      { orderId: crypto.randomUUID(), reason: "" },
      { token, headers: { "Idempotency-Key": crypto.randomUUID() } },
    );
    expect(refused.status).toBe(400);
    const unknown = await t.post(
      "/api/v1/refunds",
      { orderId: Bun.randomUUIDv7(), reason: "no such order" },
      { token, headers: { "Idempotency-Key": crypto.randomUUID() } },
    );
    expect(unknown.status).toBe(404);
    expect(await keysOf(user.id)).toBe(0);
  });

  it("answers 409 IDEMPOTENCY_KEY_IN_USE while the first request is still running", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const key = crypto.randomUUID();
    const { balances } = t.container.services;
    const original = balances.charge.bind(balances);
    const release = Promise.withResolvers<void>();
    const firstArrived = Promise.withResolvers<void>();
    // Hold the first charge inside its handler (and its transaction) until told to go on.
    balances.charge = async (...args) => {
      firstArrived.resolve();
      await release.promise;
      return original(...args);
    };
    try {
      const first = charge(token, { userId: user.id, amount: 500 }, key);
      await firstArrived.promise;
      balances.charge = original;
      const second = charge(token, { userId: user.id, amount: 500 }, key);
      const early = await Promise.race([second, Bun.sleep(2000).then(() => "still waiting" as const)]);
      if (embedded) {
        // One PGlite connection: the second request queues behind the first one's transaction, then replays it.
        expect(early).toBe("still waiting");
        release.resolve();
        const replayed = await second;
        expect(replayed.status).toBe(200);
        expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
      } else {
        expect(early).not.toBe("still waiting");
        const inUse = await second;
        expect(inUse.status).toBe(409);
        expect(inUse.body.code).toBe("IDEMPOTENCY_KEY_IN_USE");
        release.resolve();
      }
      expect((await first).status).toBe(200);
    } finally {
      balances.charge = original;
      release.resolve();
    }
    expect(await balanceOf(token, user.id)).toBe(500);
  });

  it("releases the key when the request fails on our side, so the retry runs", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const key = crypto.randomUUID();
    const { balances } = t.container.services;
    const original = balances.charge.bind(balances);
    balances.charge = async () => {
      throw new Error("database went away");
    };
    let failed: Awaited<ReturnType<typeof charge>>;
    try {
      failed = await charge(token, { userId: user.id, amount: 300 }, key);
    } finally {
      balances.charge = original;
    }
    expect(failed.status).toBe(500);
    const retried = await charge(token, { userId: user.id, amount: 300 }, key);
    expect(retried.status).toBe(200);
    expect(retried.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await balanceOf(token, user.id)).toBe(300);
  });

  it("does not store a refusal raised by the service: the retry is decided again, changing nothing", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const { token: adminToken } = await t.registerUser("ADMIN");
    for (let i = 0; i < 100; i++) await charge(adminToken, { userId: user.id, amount: 10_000_000 });
    const key = crypto.randomUUID();
    const first = await charge(token, { userId: user.id, amount: 1 }, key);
    expect(first.status).toBe(400);
    expect(first.body.code).toBe("BALANCE_LIMIT_EXCEEDED");
    const again = await charge(token, { userId: user.id, amount: 1 }, key);
    expect(again.status).toBe(400);
    expect(again.headers.get("Idempotent-Replayed")).toBeNull();
    expect(again.body.code).toBe("BALANCE_LIMIT_EXCEEDED");
    expect(await balanceOf(token, user.id)).toBe(1_000_000_000);
    expect(await keysOf(user.id)).toBe(0);
  });

  it("keeps no key for an order refused before any effect: the retry, once stock is back, places it", async () => {
    const seller = await t.registerUser("SELLER");
    const { user, token } = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 1 });
    const key = crypto.randomUUID();
    const body = { userId: user.id, items: [{ productId: shoe.id, quantity: 2 }] };
    const order = () => t.post("/api/v1/orders", body, { token, headers: { "Idempotency-Key": key } });
    const refused = await order();
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("INSUFFICIENT_STOCK");
    // The key's claim lives in the order's transaction: the refusal rolled it back with everything else.
    expect(await keysOf(user.id)).toBe(0);
    const restocked = await t.patch(`/api/v1/products/${shoe.id}`, { stock: 5, version: shoe.version }, seller);
    expect(restocked.status).toBe(200);
    const placed = await order();
    expect(placed.status).toBe(201);
    expect(placed.headers.get("Idempotent-Replayed")).toBeNull();
    expect((await order()).headers.get("Idempotent-Replayed")).toBe("true");
    expect(await keysOf(user.id)).toBe(1);
  });

  it("refuses a key longer than 255 characters", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const res = await charge(token, { userId: user.id, amount: 1 }, "k".repeat(256));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(await balanceOf(token, user.id)).toBe(0);
  });

  it("charges every time when no key is sent", async () => {
    const { user, token } = await t.registerUser("BUYER");
    await charge(token, { userId: user.id, amount: 1 });
    await charge(token, { userId: user.id, amount: 1 });
    expect(await balanceOf(token, user.id)).toBe(2);
  });
});

// An order's key is looked up by the order's first statement, its products' read (one statement fewer): the answers
// must be those of a look made before anything else, whatever the request's body and the products' state.
describe("Idempotency-Key on POST /api/v1/orders, its look taken in by the products' read", () => {
  const placeOrder = (token: string, body: unknown, key: string) =>
    t.post("/api/v1/orders", body, { token, headers: { "Idempotency-Key": key } });

  it("answers 422 for another body even when that body is refused before anything is read", async () => {
    const seller = await t.registerUser("SELLER");
    const { user, token } = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 5 });
    const key = crypto.randomUUID();
    expect(
      (await placeOrder(token, { userId: user.id, items: [{ productId: shoe.id, quantity: 1 }] }, key)).status,
    ).toBe(201);
    // Invalid (no statement runs for it), then valid but naming no product (refused after the read).
    for (const items of [[{ productId: shoe.id, quantity: 0 }], [{ productId: crypto.randomUUID(), quantity: 1 }]]) {
      const reused = await placeOrder(token, { userId: user.id, items }, key);
      expect(reused.status).toBe(422);
      expect(reused.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    }
    expect(await keysOf(user.id)).toBe(1);
  });

  it("replays the placed order after its product sold out, reserving nothing more", async () => {
    const seller = await t.registerUser("SELLER");
    const { user, token } = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 2 });
    const key = crypto.randomUUID();
    const body = { userId: user.id, items: [{ productId: shoe.id, quantity: 2 }] };
    const placed = await placeOrder(token, body, key);
    expect(placed.status).toBe(201);
    const replayed = await placeOrder(token, body, key);
    expect(replayed.status).toBe(201);
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replayed.body).toEqual(placed.body);
    const product = (await t.get(`/api/v1/products/${shoe.id}`)).body;
    expect(product.stock).toBe(0);
    expect(product.reservedStock).toBe(2);
  });

  // The key's answer is stored by the order's own statement (order_place_answering): when another request with the
  // key committed its answer after this one's look was taken (the look's snapshot predates it), that statement
  // must store nothing, and the whole order must roll back and answer as the other did. The other request is
  // played by a row committed on a connection of its own between the products' read and the order's statement.
  it.skipIf(!hasPostgres)(
    "rolls the order back when the key was answered after its look: no order, the replay",
    async () => {
      const seller = await t.registerUser("SELLER");
      const { user, token } = await t.registerUser("BUYER");
      const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 5 });
      const key = crypto.randomUUID();
      const body = { userId: user.id, items: [{ productId: shoe.id, quantity: 1 }] };
      const requestHash = new Bun.CryptoHasher("sha256").update(JSON.stringify(body)).digest("hex");
      const stored = { status: 201, body: JSON.stringify({ answered: "elsewhere" }) };
      const deps = (
        t.container.services.orders as unknown as {
          deps: { catalogue: { productsByIdsAt: (ids: string[]) => unknown } };
        }
      ).deps;
      const catalogue = deps.catalogue;
      deps.catalogue = {
        ...catalogue,
        productsByIdsAt: async (ids: string[]) => {
          const read = await catalogue.productsByIdsAt.call(catalogue, ids);
          await t.container.database.db.execute(sql`insert into idempotency_keys (scope, method, path, key, request_hash,
            response_status, response_body, response_headers, claim_token, expires_at)
          values (${user.id}, 'POST', '/api/v1/orders', ${key}, ${requestHash}, ${stored.status}, ${stored.body},
            '{"content-type": "application/json"}'::jsonb, ${crypto.randomUUID()}, now() + interval '1 day')`);
          return read;
        },
      };
      let res: Awaited<ReturnType<typeof placeOrder>>;
      try {
        res = await placeOrder(token, body, key);
      } finally {
        deps.catalogue = catalogue;
      }
      expect(res.status).toBe(201);
      expect(res.headers.get("Idempotent-Replayed")).toBe("true");
      expect(res.body).toEqual({ answered: "elsewhere" });
      const product = (await t.get(`/api/v1/products/${shoe.id}`)).body;
      expect(product).toMatchObject({ stock: 5, reservedStock: 0 });
      const orders = await t.container.database.db.execute(sql`select id from orders where user_id = ${user.id}`);
      expect(rowsOf(orders)).toEqual([]);
    },
  );

  // The answer stored by the order's statement was rendered before the handler answered: if the handler answered
  // anything else, the key would replay what the client never got. Nothing may commit then.
  it("rolls everything back (500) when the handler answers otherwise than the answer stored ahead", async () => {
    const seller = await t.registerUser("SELLER");
    const { user, token } = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 5 });
    const key = crypto.randomUUID();
    const body = { userId: user.id, items: [{ productId: shoe.id, quantity: 1 }] };
    const { orders } = t.container.services;
    const place = orders.place.bind(orders);
    orders.place = async (...args) => ({ ...(await place(...args)), subtotal: 1 });
    let res: Awaited<ReturnType<typeof placeOrder>>;
    try {
      res = await placeOrder(token, body, key);
    } finally {
      orders.place = place;
    }
    expect(res.status).toBe(500);
    expect(await keysOf(user.id)).toBe(0);
    expect((await t.get(`/api/v1/products/${shoe.id}`)).body).toMatchObject({ stock: 5, reservedStock: 0 });
    const again = await placeOrder(token, body, key);
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await keysOf(user.id)).toBe(1);
  });

  it("answers an unkeyed-body refusal as before: nothing kept, the retry decided again", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const key = crypto.randomUUID();
    const refused = await placeOrder(
      token,
      { userId: user.id, items: [{ productId: crypto.randomUUID(), quantity: 1 }] },
      key,
    );
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("INVALID_PRODUCT");
    expect(await keysOf(user.id)).toBe(0);
  });
});

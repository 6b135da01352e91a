import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { createCoupon } from "../support/coupons";
import { createTestApp, hasPostgres } from "../support/harness";
import { invariantViolations, payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

const t = await createTestApp({ env: { ORDER_PAYMENT_TIMEOUT_SECONDS: "900" } });
afterAll(() => t.close());

const seller = await t.registerUser("SELLER");
const otherSeller = await t.registerUser("SELLER");
const buyer = await t.registerUser("BUYER");
const otherBuyer = await t.registerUser("BUYER");
const admin = await t.registerUser("ADMIN");

const product = (fields: Record<string, unknown> = {}) => createProductVia(t, seller.token, { stock: 10, ...fields });
const detail = async (id: string) => (await t.get(`/api/v1/products/${id}`)).body;

describe("POST /api/v1/orders", () => {
  // The embedded database has one connection, so no edit can commit while an order's transaction is open. With an
  // Idempotency-Key the order is priced again inside the key's transaction (no savepoint): one ORDER_CREATED still.
  for (const keyed of [false, true]) {
    it.skipIf(!hasPostgres)(
      `charges the price the units are reserved at when the seller changes it while the order is placed${keyed ? " (keyed)" : ""}`,
      async () => {
        const shoe = await product({ price: 100_000 });
        // The order reads its products first and reserves them last: the edit lands in between, once.
        const deps = (
          t.container.services.orders as unknown as {
            deps: { catalogue: { productsByIdsAt: (ids: string[]) => Promise<unknown> } };
          }
        ).deps;
        const catalogue = deps.catalogue;
        const read = catalogue.productsByIdsAt;
        let edited = false;
        deps.catalogue = {
          ...catalogue,
          productsByIdsAt: async (ids: string[]) => {
            const found = await read.call(catalogue, ids);
            if (!edited) {
              edited = true;
              // Committed on a connection of its own (a request from here would join the order's transaction).
              await t.container.database.db.execute(sql`update products set price = 120000 where id = ${shoe.id}`);
            }
            return found;
          },
        };
        let order: Record<string, any>;
        const headers: Record<string, string> = keyed ? { "Idempotency-Key": crypto.randomUUID() } : {};
        const body = { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 2 }] };
        try {
          const res = await t.post("/api/v1/orders", body, { token: buyer.token, headers });
          expect(res.status).toBe(201);
          order = res.body;
          expect(order).toMatchObject({ subtotal: 240_000, totalAmount: 240_000 });
          expect(order.items[0]).toMatchObject({ unitPrice: 120_000, lineTotal: 240_000 });
        } finally {
          deps.catalogue = catalogue;
        }
        expect(edited).toBe(true);
        expect(await detail(shoe.id)).toMatchObject({ stock: 8 });
        const events = await t.container.database.db.execute(
          sql`select payload from order_events where aggregate_id = ${order.id} and type = 'ORDER_CREATED'`,
        );
        expect(rowsOf(events)).toEqual([{ payload: order }]);
        if (keyed) {
          // The key's answer, stored by the order's statement, is the answer of the try that placed it.
          const replay = await t.post("/api/v1/orders", body, { token: buyer.token, headers });
          expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
          expect(replay.body).toEqual(order);
        }
        expect(await invariantViolations(t, [shoe.id])).toEqual([]);
      },
    );
  }

  it("places an order, reserving its stock, with prices and names as they were", async () => {
    const [a, b] = [await product({ price: 150_000, name: "Samba OG" }), await product({ price: 89_000 })];
    const before = Date.now();
    const order = await placeOrder(t, buyer.token, buyer.user.id, [
      { productId: a.id, quantity: 2 },
      { productId: b.id, quantity: 1 },
    ]);
    expect(order).toMatchObject({
      userId: buyer.user.id,
      status: "CREATED",
      subtotal: 389_000,
      discountAmount: 0,
      totalAmount: 389_000,
      userCouponId: null,
      couponApplied: false,
      paidAmount: 0,
    });
    expect(order.items).toContainEqual({
      productId: a.id,
      productName: "Samba OG",
      unitPrice: 150_000,
      quantity: 2,
      lineTotal: 300_000,
    });
    const expiresIn = Date.parse(order.expiresAt) - Date.parse(order.createdAt);
    expect(expiresIn).toBe(900_000);
    expect(Date.parse(order.createdAt)).toBeGreaterThanOrEqual(before - 5_000);
    expect(await detail(a.id)).toMatchObject({ stock: 8, reservedStock: 2 });
    // A later price change leaves the order as it was.
    await t.patch(`/api/v1/products/${a.id}`, { version: (await detail(a.id)).version, price: 1000 }, seller);
    const reread = (await t.get(`/api/v1/orders/${order.id}`, buyer)).body;
    expect(reread.items.find((line: { productId: string }) => line.productId === a.id).unitPrice).toBe(150_000);
    expect(await invariantViolations(t, [a.id, b.id])).toEqual([]);
  });

  it("answers a new order exactly as it reads back, every field and line", async () => {
    const [a, b, c] = [
      await product({ price: 3_000 }),
      await product({ price: 1_000 }),
      await product({ price: 2_000 }),
    ];
    const order = await placeOrder(t, buyer.token, buyer.user.id, [
      { productId: c.id, quantity: 3 },
      { productId: a.id, quantity: 1 },
      { productId: b.id, quantity: 2 },
    ]);
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body).toEqual(order);
  });

  const invalid: [string, unknown, string][] = [
    ["no items", [], "items"],
    ["a quantity of 0", [{ quantity: 0 }], "items.0.quantity"],
    ["a quantity of 101", [{ quantity: 101 }], "items.0.quantity"],
    ["a fractional quantity", [{ quantity: 1.5 }], "items.0.quantity"],
    ["a malformed product id", [{ productId: "shoe-1", quantity: 1 }], "items.0.productId"],
  ];
  for (const [what, items, path] of invalid) {
    it(`answers ${what} with 400 VALIDATION_FAILED on ${path}`, async () => {
      const p = await product();
      const lines = (items as Record<string, unknown>[]).map((item) => ({ productId: p.id, quantity: 1, ...item }));
      const res = await t.post("/api/v1/orders", { userId: buyer.user.id, items: lines }, buyer);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    });
  }

  it("answers the same product twice with 400 VALIDATION_FAILED naming the second line", async () => {
    const p = await product();
    const res = await t.post(
      "/api/v1/orders",
      {
        userId: buyer.user.id,
        items: [
          { productId: p.id, quantity: 1 },
          { productId: p.id, quantity: 2 },
        ],
      },
      buyer,
    );
    expect(res.body).toMatchObject({ code: "VALIDATION_FAILED", errors: [{ path: "items.1.productId" }] });
  });

  it("answers an unknown or discontinued product with 400 INVALID_PRODUCT naming the line, reserving nothing", async () => {
    const [kept, gone] = [await product({ stock: 5 }), await product()];
    await t.post(`/api/v1/products/${gone.id}/discontinue`, undefined, seller);
    for (const productId of [Bun.randomUUIDv7(), gone.id]) {
      const res = await t.post(
        "/api/v1/orders",
        {
          userId: buyer.user.id,
          items: [
            { productId: kept.id, quantity: 1 },
            { productId, quantity: 1 },
          ],
        },
        buyer,
      );
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: "INVALID_PRODUCT", errors: [{ path: "items.1.productId" }] });
    }
    expect(await detail(kept.id)).toMatchObject({ stock: 5, reservedStock: 0 });
  });

  it("answers short stock with 400 INSUFFICIENT_STOCK, reserving nothing for any line", async () => {
    const [plenty, scarce] = [await product({ stock: 10 }), await product({ stock: 2 })];
    const res = await t.post(
      "/api/v1/orders",
      {
        userId: buyer.user.id,
        items: [
          { productId: plenty.id, quantity: 3 },
          { productId: scarce.id, quantity: 3 },
        ],
      },
      buyer,
    );
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: "INSUFFICIENT_STOCK", errors: [{ path: "items.1.quantity" }] });
    expect(await detail(plenty.id)).toMatchObject({ stock: 10, reservedStock: 0 });
    expect(await detail(scarce.id)).toMatchObject({ stock: 2, reservedStock: 0 });
  });

  it("lets a buyer order for itself only, an admin for anyone", async () => {
    const p = await product();
    const items = [{ productId: p.id, quantity: 1 }];
    expect((await t.post("/api/v1/orders", { userId: otherBuyer.user.id, items }, buyer)).status).toBe(403);
    expect((await t.post("/api/v1/orders", { userId: buyer.user.id, items })).status).toBe(401);
    const res = await t.post("/api/v1/orders", { userId: buyer.user.id, items }, admin);
    expect(res.status).toBe(201);
    expect(res.body.userId).toBe(buyer.user.id);
  });

  it("replays the same order for a repeated Idempotency-Key, reserving stock once", async () => {
    const p = await product({ stock: 10 });
    const body = { userId: buyer.user.id, items: [{ productId: p.id, quantity: 3 }] };
    const headers = { "Idempotency-Key": crypto.randomUUID() };
    const first = await t.post("/api/v1/orders", body, { ...buyer, headers });
    const again = await t.post("/api/v1/orders", body, { ...buyer, headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body.id).toBe(first.body.id);
    expect(await detail(p.id)).toMatchObject({ stock: 7, reservedStock: 3 });
    const other = await t.post(
      "/api/v1/orders",
      { ...body, items: [{ productId: p.id, quantity: 1 }] },
      { ...buyer, headers },
    );
    expect(other.status).toBe(422);
  });
});

describe("GET /api/v1/orders/{orderId}", () => {
  it("shows an order to its buyer, a seller of its items and an admin only", async () => {
    const p = await product();
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 1 }]);
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body.id).toBe(order.id);
    expect((await t.get(`/api/v1/orders/${order.id}`, seller)).status).toBe(200);
    expect((await t.get(`/api/v1/orders/${order.id}`, admin)).status).toBe(200);
    expect((await t.get(`/api/v1/orders/${order.id}`, otherBuyer)).status).toBe(403);
    expect((await t.get(`/api/v1/orders/${order.id}`, otherSeller)).status).toBe(403);
    expect((await t.get(`/api/v1/orders/${order.id}`)).status).toBe(401);
  });

  it("answers an unknown order with 404 ORDER_NOT_FOUND and a malformed id with 400", async () => {
    expect((await t.get(`/api/v1/orders/${Bun.randomUUIDv7()}`, buyer)).body.code).toBe("ORDER_NOT_FOUND");
    expect((await t.get("/api/v1/orders/nope", buyer)).body.code).toBe("VALIDATION_FAILED");
  });
});

describe("GET /api/v1/orders", () => {
  it("lists a buyer's own orders, newest first, filtered by status and paged", async () => {
    const shopper = await t.registerUser("BUYER");
    const p = await product({ stock: 20 });
    const placed = [];
    for (let i = 0; i < 3; i++)
      placed.push(await placeOrder(t, shopper.token, shopper.user.id, [{ productId: p.id, quantity: 1 }]));
    await t.request("PUT", `/api/v1/orders/${placed[0]!.id}/cancel`, undefined, shopper);
    const all = await t.get("/api/v1/orders?size=2", shopper);
    expect(all.body).toMatchObject({ total: 3, page: 1, size: 2 });
    expect(all.body.items.map((o: { id: string }) => o.id)).toEqual([placed[2]!.id, placed[1]!.id]);
    const cancelled = await t.get("/api/v1/orders?status=CANCELLED", shopper);
    expect(cancelled.body.items.map((o: { id: string }) => o.id)).toEqual([placed[0]!.id]);
    expect((await t.get(`/api/v1/orders?userId=${buyer.user.id}`, shopper)).status).toBe(403);
  });

  it("lets an admin list anyone's orders and a seller the orders holding its products", async () => {
    const shopper = await t.registerUser("BUYER");
    const p = await product();
    const order = await placeOrder(t, shopper.token, shopper.user.id, [{ productId: p.id, quantity: 1 }]);
    const byAdmin = await t.get(`/api/v1/orders?userId=${shopper.user.id}`, admin);
    expect(byAdmin.body.items.map((o: { id: string }) => o.id)).toEqual([order.id]);
    const bySeller = await t.get(`/api/v1/orders?userId=${shopper.user.id}`, seller);
    expect(bySeller.body.items.map((o: { id: string }) => o.id)).toEqual([order.id]);
    expect((await t.get(`/api/v1/orders?userId=${shopper.user.id}`, otherSeller)).body.total).toBe(0);
  });
});

describe("PUT /api/v1/orders/{orderId}/cancel", () => {
  it("cancels an unpaid order once, returning its stock; a second cancel is 409", async () => {
    const p = await product({ stock: 4 });
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 3 }]);
    const res = await t.request("PUT", `/api/v1/orders/${order.id}/cancel`, undefined, buyer);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "CANCELLED", cancelReason: "CANCELLED_BY_BUYER" });
    expect(await detail(p.id)).toMatchObject({ stock: 4, reservedStock: 0, status: "LOW_STOCK" });
    const again = await t.request("PUT", `/api/v1/orders/${order.id}/cancel`, undefined, buyer);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("ORDER_NOT_CANCELLABLE");
    expect(await invariantViolations(t, [p.id])).toEqual([]);
  });

  it("lets an admin cancel, and nobody else but the buyer", async () => {
    const p = await product();
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 1 }]);
    expect((await t.request("PUT", `/api/v1/orders/${order.id}/cancel`, undefined, otherBuyer)).status).toBe(403);
    expect((await t.request("PUT", `/api/v1/orders/${order.id}/cancel`, undefined, seller)).status).toBe(403);
    const res = await t.request("PUT", `/api/v1/orders/${order.id}/cancel`, undefined, admin);
    expect(res.body).toMatchObject({ status: "CANCELLED", cancelReason: "CANCELLED_BY_ADMIN" });
  });

  it("refuses to cancel a shipped order with 409 ORDER_NOT_CANCELLABLE", async () => {
    const p = await product();
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 1 }]);
    await payOrder(t, buyer, order.id);
    for (const status of ["PREPARING", "SHIPPED"]) {
      await t.patch(`/api/v1/orders/${order.id}/status`, { status }, seller);
    }
    const res = await t.request("PUT", `/api/v1/orders/${order.id}/cancel`, undefined, buyer);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("ORDER_NOT_CANCELLABLE");
  });
});

describe("PATCH /api/v1/orders/{orderId}/status", () => {
  const paidOrder = async () => {
    const p = await product();
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 1 }]);
    await payOrder(t, buyer, order.id);
    return order;
  };
  const move = (orderId: string, status: string, who: { token: string }) =>
    t.patch(`/api/v1/orders/${orderId}/status`, { status }, who);

  it("walks a paid order through fulfilment one step at a time: the seller ships, the buyer completes", async () => {
    const order = await paidOrder();
    for (const status of ["PREPARING", "SHIPPED", "DELIVERED"]) {
      const res = await move(order.id, status, seller);
      expect({ status: res.status, now: res.body.status }).toEqual({ status: 200, now: status });
    }
    const completed = await move(order.id, "COMPLETED", buyer);
    expect(completed.body.status).toBe("COMPLETED");
  });

  it("answers a skipped, backward or unpaid step with 409 INVALID_ORDER_TRANSITION", async () => {
    const order = await paidOrder();
    expect((await move(order.id, "SHIPPED", seller)).body.code).toBe("INVALID_ORDER_TRANSITION");
    expect((await move(order.id, "CREATED", admin)).body.code).toBe("INVALID_ORDER_TRANSITION");
    expect((await move(order.id, "CANCELLED", admin)).body.code).toBe("INVALID_ORDER_TRANSITION");
    const p = await product();
    const unpaid = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 1 }]);
    expect((await move(unpaid.id, "CONFIRMED", admin)).body.code).toBe("INVALID_ORDER_TRANSITION");
    expect((await move(unpaid.id, "PREPARING", seller)).body.code).toBe("INVALID_ORDER_TRANSITION");
  });

  it("lets only a seller of the items or an admin fulfil, and the buyer only confirm receipt", async () => {
    const order = await paidOrder();
    expect((await move(order.id, "PREPARING", buyer)).status).toBe(403);
    expect((await move(order.id, "PREPARING", otherSeller)).status).toBe(403);
    expect((await move(order.id, "PREPARING", otherBuyer)).status).toBe(403);
    expect((await move(order.id, "PREPARING", admin)).status).toBe(200);
    expect((await move(order.id, "SHIPPED", seller)).status).toBe(200);
    expect((await move(order.id, "DELIVERED", admin)).status).toBe(200);
    expect((await move(order.id, "COMPLETED", otherBuyer)).status).toBe(403);
    expect((await move(order.id, "COMPLETED", buyer)).status).toBe(200);
  });

  it("never lets the seller confirm receipt: DELIVERED → COMPLETED by the seller is 403, by an admin 200", async () => {
    const order = await paidOrder();
    for (const status of ["PREPARING", "SHIPPED", "DELIVERED"]) await move(order.id, status, seller);
    const refused = await move(order.id, "COMPLETED", seller);
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body.status).toBe("DELIVERED");
    const completed = await move(order.id, "COMPLETED", admin);
    expect({ status: completed.status, now: completed.body.status }).toEqual({ status: 200, now: "COMPLETED" });
  });

  it("lets a seller who bought an order confirm its receipt as its buyer", async () => {
    const p = await createProductVia(t, otherSeller.token, { stock: 5 });
    const order = await placeOrder(t, seller.token, seller.user.id, [{ productId: p.id, quantity: 1 }]);
    await payOrder(t, seller, order.id);
    for (const status of ["PREPARING", "SHIPPED", "DELIVERED"]) {
      expect((await move(order.id, status, otherSeller)).status).toBe(200);
    }
    expect((await move(order.id, "COMPLETED", otherSeller)).status).toBe(403);
    expect((await move(order.id, "COMPLETED", seller)).status).toBe(200);
  });

  it("answers an unknown status with 400", async () => {
    const order = await paidOrder();
    expect((await move(order.id, "LOST", seller)).body.code).toBe("VALIDATION_FAILED");
  });
});

describe("orders with coupons", () => {
  const issue = async (coupon: { id: string }, who: { user: { id: string }; token: string }) => {
    const res = await t.post("/api/v1/coupons/issue", { couponId: coupon.id, userId: who.user.id }, who);
    if (res.status !== 201) throw new Error(`issue failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { id: string };
  };

  it("applies a percentage coupon rounded down and capped, marking it USED", async () => {
    const p = await product({ price: 123_456 });
    const coupon = await createCoupon(t, seller.token, {
      type: "PERCENTAGE",
      discountValue: 15,
      maxDiscountAmount: 50_000,
    });
    const held = await issue(coupon, buyer);
    const small = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 1 }], {
      userCouponId: held.id,
    });
    // floor(123,456 × 15 / 100) = 18,518
    expect(small).toMatchObject({
      subtotal: 123_456,
      discountAmount: 18_518,
      totalAmount: 104_938,
      couponApplied: true,
    });
    const mine = await t.get(`/api/v1/coupons/user/${buyer.user.id}`, buyer);
    expect(mine.body.items.find((uc: { id: string }) => uc.id === held.id)).toMatchObject({
      status: "USED",
      orderId: small.id,
    });

    const capped = await issue(
      await createCoupon(t, seller.token, { type: "PERCENTAGE", discountValue: 50, maxDiscountAmount: 30_000 }),
      buyer,
    );
    const big = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 2 }], {
      userCouponId: capped.id,
    });
    expect(big).toMatchObject({ subtotal: 246_912, discountAmount: 30_000, totalAmount: 216_912 });
    expect(await invariantViolations(t, [p.id])).toEqual([]);
  });

  it("caps a fixed coupon at the subtotal", async () => {
    const p = await product({ price: 9_000 });
    const held = await issue(
      await createCoupon(t, seller.token, { type: "FIXED", discountValue: 20_000, maxDiscountAmount: undefined }),
      buyer,
    );
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 1 }], {
      userCouponId: held.id,
    });
    expect(order).toMatchObject({ subtotal: 9_000, discountAmount: 9_000, totalAmount: 0, couponApplied: true });
  });

  it("goes on without a coupon it cannot use, saying why", async () => {
    const p = await product({ price: 50_000 });
    const minimum = await issue(await createCoupon(t, seller.token, { minOrderAmount: 100_000 }), buyer);
    const othersCoupon = await issue(await createCoupon(t, seller.token), otherBuyer);
    const cases: [string, string][] = [
      [minimum.id, "BELOW_MIN_ORDER_AMOUNT"],
      [othersCoupon.id, "NOT_OWNED"],
      [Bun.randomUUIDv7(), "NOT_FOUND"],
    ];
    for (const [userCouponId, reason] of cases) {
      const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 1 }], {
        userCouponId,
      });
      expect(order).toMatchObject({
        couponApplied: false,
        couponRejectedReason: reason,
        discountAmount: 0,
        totalAmount: 50_000,
        userCouponId,
      });
    }
  });

  it("applies one coupon to only one of five orders placed at once", async () => {
    const p = await product({ stock: 10, price: 100_000 });
    const held = await issue(
      await createCoupon(t, seller.token, { type: "FIXED", discountValue: 10_000, maxDiscountAmount: undefined }),
      buyer,
    );
    const orders = await Promise.all(
      Array.from({ length: 5 }, () =>
        placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 1 }], { userCouponId: held.id }),
      ),
    );
    expect(orders.filter((o) => o.couponApplied)).toHaveLength(1);
    expect(orders.filter((o) => o.couponRejectedReason === "NOT_USABLE")).toHaveLength(4);
    expect(await invariantViolations(t, [p.id])).toEqual([]);
  });

  it("gives the coupon back when the order is cancelled, usable on a new order", async () => {
    const p = await product({ price: 80_000 });
    const held = await issue(
      await createCoupon(t, seller.token, { type: "FIXED", discountValue: 5_000, maxDiscountAmount: undefined }),
      buyer,
    );
    const first = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 1 }], {
      userCouponId: held.id,
    });
    await t.request("PUT", `/api/v1/orders/${first.id}/cancel`, undefined, buyer);
    const mine = await t.get(`/api/v1/coupons/user/${buyer.user.id}?status=REFUNDED`, buyer);
    expect(mine.body.items.map((uc: { id: string }) => uc.id)).toContain(held.id);
    const second = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: p.id, quantity: 1 }], {
      userCouponId: held.id,
    });
    expect(second).toMatchObject({ couponApplied: true, discountAmount: 5_000 });
    const events = await t.container.database.db.query.couponEvents.findMany({
      where: (e, { eq }) => eq(e.aggregateId, held.id),
      orderBy: (e, { asc }) => asc(e.seq),
    });
    expect(events.map((e) => e.type)).toEqual(["COUPON_ISSUED", "COUPON_USED", "COUPON_RESTORED", "COUPON_USED"]);
    expect(await invariantViolations(t, [p.id])).toEqual([]);
  });
});

import { afterAll, describe, expect, it } from "bun:test";
import { couponBody, createCoupon } from "../support/coupons";
import { createTestApp } from "../support/harness";
import { operationsOf } from "../support/openapi-operations";
import { payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// Who may call what, as ONE table: every operation of /openapi.json × the six callers below → the status the
// contract gives. "buyer" owns the resources a row acts on (its balance, order, payment, refund, coupons);
// "seller" sells the product and issued the coupon; "other buyer" and "other seller" own nothing there.
// An operation without a row fails the suite, so a new route must say who may call it. Each cell runs on its
// own fixtures where the call changes them (a cancel, a payment), so no cell depends on another.
// Add a row: `operationId: { call: (w) => ({ path, body? }), expect: [anonymous, buyer, other buyer, seller,
// other seller, admin] }`.
const t = await createTestApp();
afterAll(() => t.close());

const CALLERS = ["anonymous", "buyer", "otherBuyer", "seller", "otherSeller", "admin"] as const;
type Caller = (typeof CALLERS)[number];
type Statuses = [number, number, number, number, number, number];

const buyer = await t.registerUser("BUYER");
const otherBuyer = await t.registerUser("BUYER");
const seller = await t.registerUser("SELLER");
const otherSeller = await t.registerUser("SELLER");
const admin = await t.registerUser("ADMIN");
const tokens: Record<Caller, string | undefined> = {
  anonymous: undefined,
  buyer: buyer.token,
  otherBuyer: otherBuyer.token,
  seller: seller.token,
  otherSeller: otherSeller.token,
  admin: admin.token,
};

/** Fixtures a row builds its call from; the fresh ones are made anew for every cell. */
const world = {
  buyer,
  seller,
  product: await createProductVia(t, seller.token, { stock: 1000 }),
  freshProduct: () => createProductVia(t, seller.token, { stock: 50 }),
  freshCoupon: () => createCoupon(t, seller.token),
  async suspendedCoupon() {
    const coupon = await createCoupon(t, seller.token);
    await t.post(`/api/v1/coupons/${coupon.id}/suspend`, undefined, { token: seller.token });
    return coupon;
  },
  async unpaidOrder() {
    return placeOrder(t, buyer.token, buyer.user.id, [{ productId: world.product.id, quantity: 1 }]);
  },
  async paidOrder() {
    const order = await world.unpaidOrder();
    const payment = await payOrder(t, buyer, order.id);
    return { order, payment };
  },
  /** A shipped order refunded in full: its unit awaits return. */
  async awaitingReturn() {
    const { order } = await world.paidOrder();
    for (const status of ["PREPARING", "SHIPPED"]) {
      await t.patch(`/api/v1/orders/${order.id}/status`, { status }, { token: seller.token });
    }
    await t.post("/api/v1/refunds", { orderId: order.id, reason: "matrix" }, { token: buyer.token });
    return order;
  },
};
const { order: paid, payment } = await world.paidOrder();
const refund = (
  await t.post("/api/v1/refunds", { orderId: paid.id, amount: 1, reason: "matrix" }, { token: buyer.token })
).body as { id: string };
const coupon = await createCoupon(t, seller.token);
const modelCode = `MX-${crypto.randomUUID().slice(0, 8)}`;
await createProductVia(t, seller.token, { modelCode, shoeSize: "270" });
const event = (await t.get("/api/v1/admin/events?table=order&size=1", { token: admin.token })).body.items[0];

interface Call {
  path: string;
  body?: unknown;
}
type FreshUser = Awaited<ReturnType<typeof t.registerUser>>;
interface Row {
  call: (fresh?: FreshUser) => Call | Promise<Call>;
  expect: Statuses;
  /** Each cell calls as a new user of the caller's role (calls that revoke the caller's own tokens). */
  fresh?: true;
}

const ROLE_OF: Record<Exclude<Caller, "anonymous">, "BUYER" | "SELLER" | "ADMIN"> = {
  buyer: "BUYER",
  otherBuyer: "BUYER",
  seller: "SELLER",
  otherSeller: "SELLER",
  admin: "ADMIN",
};

//                                        anonymous  buyer  other buyer  seller  other seller  admin
const matrix: Record<string, Row> = {
  signUp: {
    call: () => ({
      path: "/api/v1/auth/signup",
      body: { email: `m-${crypto.randomUUID()}@test.kicks`, password: "matrix-password-7", name: "M" },
    }),
    expect: [201, 201, 201, 201, 201, 201],
  },
  logIn: {
    call: () => ({ path: "/api/v1/auth/login", body: { email: buyer.email, password: buyer.password } }),
    expect: [200, 200, 200, 200, 200, 200],
  },
  logOut: { call: () => ({ path: "/api/v1/auth/logout" }), expect: [401, 204, 204, 204, 204, 204], fresh: true },
  changePassword: {
    call: (user) => ({
      path: "/api/v1/users/me/password",
      body: { currentPassword: user?.password ?? "matrix-password-7", newPassword: "a-new-matrix-password-8" },
    }),
    expect: [401, 204, 204, 204, 204, 204],
    fresh: true,
  },
  getMe: { call: () => ({ path: "/api/v1/users/me" }), expect: [401, 200, 200, 200, 200, 200] },
  updateMe: {
    call: () => ({ path: "/api/v1/users/me", body: { bio: "matrix" } }),
    expect: [401, 200, 200, 200, 200, 200],
  },
  createUser: {
    call: () => ({
      path: "/api/v1/admin/users",
      body: { email: `m-${crypto.randomUUID()}@test.kicks`, password: "matrix-password-7", name: "M", role: "BUYER" },
    }),
    expect: [401, 403, 403, 403, 403, 201],
  },
  chargeBalance: {
    call: () => ({ path: "/api/v1/balances/charge", body: { userId: buyer.user.id, amount: 1000 } }),
    expect: [401, 200, 403, 403, 403, 200],
  },
  getBalance: { call: () => ({ path: `/api/v1/balances/${buyer.user.id}` }), expect: [401, 200, 403, 403, 403, 200] },
  listBalanceTransactions: {
    call: () => ({ path: `/api/v1/balances/${buyer.user.id}/transactions` }),
    expect: [401, 200, 403, 403, 403, 200],
  },
  listPopularProducts: { call: () => ({ path: "/api/v1/products/popular" }), expect: [200, 200, 200, 200, 200, 200] },
  getSalesStats: { call: () => ({ path: "/api/v1/stats/sales" }), expect: [401, 403, 403, 200, 200, 200] },
  listProducts: { call: () => ({ path: "/api/v1/products" }), expect: [200, 200, 200, 200, 200, 200] },
  createProduct: {
    call: () => ({
      path: "/api/v1/products",
      body: { name: "Matrix", brand: "Testbrand", category: "test", price: 1000, stock: 1 },
    }),
    expect: [401, 403, 403, 201, 201, 201],
  },
  getProduct: {
    call: () => ({ path: `/api/v1/products/${world.product.id}` }),
    expect: [200, 200, 200, 200, 200, 200],
  },
  getModel: { call: () => ({ path: `/api/v1/models/${modelCode}` }), expect: [200, 200, 200, 200, 200, 200] },
  editProduct: {
    call: async () => {
      const product = await world.freshProduct();
      return { path: `/api/v1/products/${product.id}`, body: { version: product.version, price: 2000 } };
    },
    expect: [401, 403, 403, 200, 403, 200],
  },
  discontinueProduct: {
    call: async () => ({ path: `/api/v1/products/${(await world.freshProduct()).id}/discontinue` }),
    expect: [401, 403, 403, 200, 403, 200],
  },
  createCoupon: {
    call: () => ({ path: "/api/v1/coupons", body: couponBody() }),
    expect: [401, 403, 403, 201, 201, 201],
  },
  listCoupons: { call: () => ({ path: "/api/v1/coupons" }), expect: [401, 403, 403, 200, 200, 200] },
  getCouponByCode: {
    call: () => ({ path: `/api/v1/coupons/code/${coupon.code.toLowerCase()}` }),
    expect: [401, 200, 200, 200, 200, 200],
  },
  issueCoupon: {
    call: async () => ({
      path: "/api/v1/coupons/issue",
      body: { couponId: (await world.freshCoupon()).id, userId: buyer.user.id },
    }),
    expect: [401, 201, 403, 201, 403, 201],
  },
  issueLimitedCoupon: {
    call: async () => ({
      path: "/api/v1/coupons/issue/limited",
      body: { couponId: (await world.freshCoupon()).id, userId: buyer.user.id },
    }),
    expect: [401, 201, 403, 201, 403, 201],
  },
  listUserCoupons: {
    call: () => ({ path: `/api/v1/coupons/user/${buyer.user.id}` }),
    expect: [401, 200, 403, 403, 403, 200],
  },
  getCoupon: { call: () => ({ path: `/api/v1/coupons/${coupon.id}` }), expect: [401, 200, 200, 200, 200, 200] },
  suspendCoupon: {
    call: async () => ({ path: `/api/v1/coupons/${(await world.freshCoupon()).id}/suspend` }),
    expect: [401, 403, 403, 200, 403, 200],
  },
  resumeCoupon: {
    call: async () => ({ path: `/api/v1/coupons/${(await world.suspendedCoupon()).id}/resume` }),
    expect: [401, 403, 403, 200, 403, 200],
  },
  cancelCoupon: {
    call: async () => ({ path: `/api/v1/coupons/${(await world.freshCoupon()).id}/cancel` }),
    expect: [401, 403, 403, 200, 403, 200],
  },
  placeOrder: {
    call: () => ({
      path: "/api/v1/orders",
      body: { userId: buyer.user.id, items: [{ productId: world.product.id, quantity: 1 }] },
    }),
    expect: [401, 201, 403, 403, 403, 201],
  },
  listOrders: { call: () => ({ path: "/api/v1/orders" }), expect: [401, 200, 200, 200, 200, 200] },
  getOrder: { call: () => ({ path: `/api/v1/orders/${paid.id}` }), expect: [401, 200, 403, 200, 403, 200] },
  cancelOrder: {
    call: async () => ({ path: `/api/v1/orders/${(await world.unpaidOrder()).id}/cancel` }),
    expect: [401, 200, 403, 403, 403, 200],
  },
  advanceOrder: {
    call: async () => ({
      path: `/api/v1/orders/${(await world.paidOrder()).order.id}/status`,
      body: { status: "PREPARING" },
    }),
    expect: [401, 403, 403, 200, 403, 200],
  },
  processPayment: {
    call: async () => {
      const order = await world.unpaidOrder();
      await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: order.totalAmount }, buyer);
      return { path: "/api/v1/payments/process", body: { orderId: order.id } };
    },
    expect: [401, 200, 403, 403, 403, 200],
  },
  confirmPayment: {
    call: () => ({ path: "/api/v1/payments/confirm", body: { paymentId: payment.id } }),
    expect: [401, 200, 403, 403, 403, 200],
  },
  getPayment: { call: () => ({ path: `/api/v1/payments/${payment.id}` }), expect: [401, 200, 403, 403, 403, 200] },
  requestRefund: {
    call: async () => ({
      path: "/api/v1/refunds",
      body: { orderId: (await world.paidOrder()).order.id, amount: 1, reason: "matrix" },
    }),
    expect: [401, 201, 403, 403, 403, 201],
  },
  recordReturn: {
    call: async () => ({
      path: `/api/v1/orders/${(await world.awaitingReturn()).id}/returns`,
      body: { items: [{ productId: world.product.id, quantity: 1, condition: "RESELLABLE" }] },
    }),
    expect: [401, 403, 403, 201, 403, 201],
  },
  getRefund: { call: () => ({ path: `/api/v1/refunds/${refund.id}` }), expect: [401, 200, 403, 403, 403, 200] },
  listEvents: { call: () => ({ path: "/api/v1/admin/events?table=order" }), expect: [401, 403, 403, 403, 403, 200] },
  retryEvent: {
    // A SENT event: the admin passes every check but the event's own state.
    call: () => ({ path: `/api/v1/admin/events/order/${event.id}/retry` }),
    expect: [401, 403, 403, 403, 403, 409],
  },
  liveness: { call: () => ({ path: "/healthz" }), expect: [200, 200, 200, 200, 200, 200] },
  readiness: { call: () => ({ path: "/readyz" }), expect: [200, 200, 200, 200, 200, 200] },
  metrics: { call: () => ({ path: "/metrics" }), expect: [200, 200, 200, 200, 200, 200] },
};

const document = (await t.get("/openapi.json")).body;
const operations = operationsOf(document);

describe("the authorisation matrix", () => {
  it("has a row for every operation of /openapi.json, and no row for an operation that does not exist", () => {
    const ids = new Set(operations.map((op) => op.operationId));
    expect(
      operations.filter((op) => !(op.operationId in matrix)).map((op) => `${op.name} (${op.operationId})`),
    ).toEqual([]);
    expect(Object.keys(matrix).filter((id) => !ids.has(id))).toEqual([]);
  });

  it("expects of every operation only statuses it documents", () => {
    const undocumented = operations.flatMap((op) => {
      const row = matrix[op.operationId];
      return row ? [...new Set(row.expect)].filter((s) => !op.statuses.has(s)).map((s) => `${op.name}: ${s}`) : [];
    });
    expect(undocumented).toEqual([]);
  });

  for (const op of operations) {
    it(`${op.name}: ${CALLERS.join(", ")} → ${matrix[op.operationId]?.expect.join(", ") ?? "no row"}`, async () => {
      const row = matrix[op.operationId];
      if (!row) throw new Error(`no row for ${op.operationId}`);
      const got: number[] = [];
      for (const caller of CALLERS) {
        const fresh = row.fresh && caller !== "anonymous" ? await t.registerUser(ROLE_OF[caller]) : undefined;
        const call = await row.call(fresh);
        const res = await t.request(op.method, call.path, call.body, {
          token: row.fresh ? fresh?.token : tokens[caller],
        });
        got.push(res.status);
        if (res.status >= 400) expect(res.headers.get("content-type")).toContain("application/problem+json");
      }
      expect(got).toEqual(row.expect);
    });
  }
});

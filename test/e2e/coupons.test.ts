import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { eq } from "drizzle-orm";
import { couponEvents } from "../../src/infra/db/schema";
import { couponBody, createCoupon } from "../support/coupons";
import { createTestApp } from "../support/harness";

// Some tests wait for a validity window to end: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(60_000);

const t = await createTestApp();
afterAll(() => t.close());

const seller = await t.registerUser("SELLER");
const otherSeller = await t.registerUser("SELLER");
const admin = await t.registerUser("ADMIN");
const SECOND = 1000;

const eventsOf = (aggregateId: string) =>
  t.container.database.db.select().from(couponEvents).where(eq(couponEvents.aggregateId, aggregateId));

describe("POST /api/v1/coupons", () => {
  it("creates a coupon for a SELLER, who becomes its issuer, and records COUPON_CREATED with it", async () => {
    const body = couponBody({ totalQuantity: 1000 });
    const res = await t.post("/api/v1/coupons", body, { token: seller.token });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      code: body.code,
      name: body.name,
      issuerId: seller.user.id,
      type: "PERCENTAGE",
      discountValue: 10,
      maxDiscountAmount: 20_000,
      minOrderAmount: 0,
      totalQuantity: 1000,
      issuedQuantity: 0,
      remainingQuantity: 1000,
      validFrom: body.validFrom,
      validUntil: body.validUntil,
      status: "ACTIVE",
      createdAt: expect.any(String),
    });
    const [event] = await eventsOf(res.body.id);
    expect(event).toMatchObject({ type: "COUPON_CREATED", status: "PENDING" });
    expect(event?.payload).toMatchObject({ couponId: res.body.id, code: body.code, totalQuantity: 1000 });
  });

  it("lets an ADMIN create one, and refuses a BUYER with 403 and no token with 401", async () => {
    expect((await t.post("/api/v1/coupons", couponBody(), { token: admin.token })).status).toBe(201);
    const buyer = await t.registerUser("BUYER");
    const forbidden = await t.post("/api/v1/coupons", couponBody(), { token: buyer.token });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe("FORBIDDEN");
    expect((await t.post("/api/v1/coupons", couponBody())).body.code).toBe("UNAUTHENTICATED");
  });

  it("answers 409 COUPON_CODE_TAKEN for a code that exists in another case", async () => {
    const code = `Drop-${crypto.randomUUID().slice(0, 8)}`;
    await createCoupon(t, seller.token, { code });
    const again = await t.post("/api/v1/coupons", couponBody({ code: code.toUpperCase() }), { token: admin.token });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("COUPON_CODE_TAKEN");
  });

  it("starts as CREATED when validFrom is ahead, FIXED without a cap", async () => {
    const res = await t.post(
      "/api/v1/coupons",
      couponBody({
        type: "FIXED",
        discountValue: 5000,
        maxDiscountAmount: undefined,
        validFrom: new Date(Date.now() + 3600 * SECOND).toISOString(),
      }),
      { token: seller.token },
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "CREATED", type: "FIXED", maxDiscountAmount: null });
  });

  it("takes timestamps with an offset and answers them in UTC", async () => {
    const res = await t.post("/api/v1/coupons", couponBody({ validUntil: "2099-11-25T19:00:00+09:00" }), {
      token: seller.token,
    });
    expect(res.status).toBe(201);
    expect(res.body.validUntil).toBe("2099-11-25T10:00:00.000Z");
  });

  const past = new Date(Date.now() - 3600 * SECOND).toISOString();
  it.each([
    ["a code with a space", { code: "DROP 2026" }, "code"],
    ["a code with Hangul", { code: "드롭-2026" }, "code"],
    ["a code of 2 characters", { code: "AB" }, "code"],
    ["a code of 33 characters", { code: "A".repeat(33) }, "code"],
    ["a code starting with -", { code: "-DROP" }, "code"],
    ["an empty name", { name: "   " }, "name"],
    ["a name with a control character", { name: "Drop\u0000" }, "name"],
    ["an unknown type", { type: "BOGO" }, "type"],
    ["a discount of 0", { discountValue: 0 }, "discountValue"],
    ["a percentage of 101", { discountValue: 101 }, "discountValue"],
    ["a fractional discount", { discountValue: 10.5 }, "discountValue"],
    ["a discount sent as a string", { discountValue: "10" }, "discountValue"],
    ["a FIXED coupon with a cap", { type: "FIXED", discountValue: 5000, maxDiscountAmount: 1000 }, "maxDiscountAmount"],
    ["a cap of 0", { maxDiscountAmount: 0 }, "maxDiscountAmount"],
    ["a negative minimum order", { minOrderAmount: -1 }, "minOrderAmount"],
    ["a quantity of 0", { totalQuantity: 0 }, "totalQuantity"],
    ["a quantity above 1,000,000", { totalQuantity: 1_000_001 }, "totalQuantity"],
    ["validUntil equal to validFrom", { validFrom: past, validUntil: past }, "validUntil"],
    ["validUntil in the past", { validFrom: "2020-01-01T00:00:00Z", validUntil: past }, "validUntil"],
    ["a date that is not ISO-8601", { validFrom: "next tuesday" }, "validFrom"],
    ["a date without a time", { validUntil: "2099-11-25" }, "validUntil"],
    ["a month 13", { validUntil: "2099-13-01T00:00:00Z" }, "validUntil"],
    ["a missing quantity", { totalQuantity: undefined }, "totalQuantity"],
  ])("refuses %s with 400 VALIDATION_FAILED naming the field", async (_, overrides, path) => {
    const res = await t.post("/api/v1/coupons", couponBody(overrides), { token: seller.token });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("answers malformed JSON with 400 MALFORMED_JSON", async () => {
    const res = await t.post("/api/v1/coupons", "{ not json", { token: seller.token });
    expect(res.body.code).toBe("MALFORMED_JSON");
  });
});

describe("GET /api/v1/coupons/{couponId}", () => {
  it("answers the coupon to any signed-in user", async () => {
    const coupon = await createCoupon(t, seller.token);
    const buyer = await t.registerUser("BUYER");
    const res = await t.get(`/api/v1/coupons/${coupon.id.toUpperCase()}`, { token: buyer.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: coupon.id, status: "ACTIVE", remainingQuantity: 10 });
    expect((await t.get(`/api/v1/coupons/${coupon.id}`)).status).toBe(401);
  });

  it("answers 404 COUPON_NOT_FOUND for an unknown id and 400 for one that is not a UUID", async () => {
    const unknown = await t.get(`/api/v1/coupons/${Bun.randomUUIDv7()}`, { token: seller.token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("COUPON_NOT_FOUND");
    const garbage = await t.get("/api/v1/coupons/not-a-uuid", { token: seller.token });
    expect(garbage.status).toBe(400);
    expect(garbage.body.errors[0].path).toBe("param.couponId");
  });
});

describe("suspend, resume, cancel", () => {
  const act = (couponId: string, action: string, token: string) =>
    t.post(`/api/v1/coupons/${couponId}/${action}`, undefined, { token });

  it("moves the coupon through the machine for its issuer", async () => {
    const coupon = await createCoupon(t, seller.token);
    expect((await act(coupon.id, "suspend", seller.token)).body.status).toBe("SUSPENDED");
    expect((await t.get(`/api/v1/coupons/${coupon.id}`, { token: seller.token })).body.status).toBe("SUSPENDED");
    expect((await act(coupon.id, "resume", seller.token)).body.status).toBe("ACTIVE");
    const cancelled = await act(coupon.id, "cancel", seller.token);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe("CANCELLED");
  });

  it.each([
    ["suspend", ["suspend"]],
    ["resume", []],
    ["cancel", ["cancel"]],
    ["resume", ["cancel"]],
    ["suspend", ["cancel"]],
  ])("answers 409 INVALID_COUPON_TRANSITION to %s after %j", async (action, before) => {
    const coupon = await createCoupon(t, seller.token);
    for (const step of before) expect((await act(coupon.id, step, seller.token)).status).toBe(200);
    const res = await act(coupon.id, action, seller.token);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("INVALID_COUPON_TRANSITION");
  });

  it("lets an ADMIN act on anyone's coupon, and forbids other sellers and buyers", async () => {
    const coupon = await createCoupon(t, seller.token);
    const buyer = await t.registerUser("BUYER");
    expect((await act(coupon.id, "suspend", otherSeller.token)).status).toBe(403);
    expect((await act(coupon.id, "suspend", buyer.token)).body.code).toBe("FORBIDDEN");
    expect((await act(coupon.id, "suspend", admin.token)).status).toBe(200);
  });

  it("answers 404 for an unknown coupon", async () => {
    const res = await act(Bun.randomUUIDv7(), "cancel", admin.token);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("COUPON_NOT_FOUND");
  });
});

describe.each([
  ["the database path", "/api/v1/coupons/issue"],
  ["the limited path", "/api/v1/coupons/issue/limited"],
])("issuing through %s", (_, path) => {
  const issue = (couponId: string, userId: string, token: string, headers: Record<string, string> = {}) =>
    t.post(path, { couponId, userId }, { token, headers });

  it("issues the caller one coupon (201), records COUPON_ISSUED, and refuses a second with 409", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 5 });
    const { user, token } = await t.registerUser("BUYER");
    const res = await issue(coupon.id, user.id, token);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      couponId: coupon.id,
      userId: user.id,
      status: "ISSUED",
      issuedAt: expect.any(String),
      usedAt: null,
      orderId: null,
      coupon: expect.objectContaining({ id: coupon.id, issuedQuantity: 1, remainingQuantity: 4, status: "ACTIVE" }),
    });
    const [event] = await eventsOf(res.body.id);
    expect(event).toMatchObject({ type: "COUPON_ISSUED", status: "PENDING" });
    expect(event?.payload).toMatchObject({ couponId: coupon.id, userId: user.id, userCouponId: res.body.id });
    const again = await issue(coupon.id, user.id, token);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("COUPON_ALREADY_ISSUED");
  });

  it("answers 409 COUPON_SOLD_OUT once every unit is issued, and the coupon reads EXHAUSTED", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 1 });
    const first = await t.registerUser("BUYER");
    const second = await t.registerUser("BUYER");
    expect((await issue(coupon.id, first.user.id, first.token)).status).toBe(201);
    const soldOut = await issue(coupon.id, second.user.id, second.token);
    expect(soldOut.status).toBe(409);
    expect(soldOut.body.code).toBe("COUPON_SOLD_OUT");
    // The holder hears that it holds one, not that there are none.
    expect((await issue(coupon.id, first.user.id, first.token)).body.code).toBe("COUPON_ALREADY_ISSUED");
    const read = await t.get(`/api/v1/coupons/${coupon.id}`, { token: seller.token });
    expect(read.body).toMatchObject({ status: "EXHAUSTED", issuedQuantity: 1, remainingQuantity: 0 });
  });

  it.each([
    ["not yet valid", { validFrom: new Date(Date.now() + 3600 * SECOND).toISOString() }, []],
    ["suspended", {}, ["suspend"]],
    ["cancelled", {}, ["cancel"]],
  ])("answers 409 COUPON_NOT_ACTIVE for a %s coupon", async (_, overrides, actions) => {
    const coupon = await createCoupon(t, seller.token, overrides);
    for (const action of actions) await t.post(`/api/v1/coupons/${coupon.id}/${action}`, undefined, seller);
    const { user, token } = await t.registerUser("BUYER");
    const res = await issue(coupon.id, user.id, token);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("COUPON_NOT_ACTIVE");
  });

  it("applies a suspension at once and a resume as well", async () => {
    const coupon = await createCoupon(t, seller.token);
    const [a, b, c] = [await t.registerUser("BUYER"), await t.registerUser("BUYER"), await t.registerUser("BUYER")];
    expect((await issue(coupon.id, a.user.id, a.token)).status).toBe(201);
    await t.post(`/api/v1/coupons/${coupon.id}/suspend`, undefined, seller);
    expect((await issue(coupon.id, b.user.id, b.token)).body.code).toBe("COUPON_NOT_ACTIVE");
    await t.post(`/api/v1/coupons/${coupon.id}/resume`, undefined, seller);
    expect((await issue(coupon.id, c.user.id, c.token)).status).toBe(201);
  });

  it("stops issuing the moment validUntil passes", async () => {
    const [a, b] = [await t.registerUser("BUYER"), await t.registerUser("BUYER")];
    const validUntil = Date.now() + 2 * SECOND;
    const coupon = await createCoupon(t, seller.token, { validUntil: new Date(validUntil).toISOString() });
    expect((await issue(coupon.id, a.user.id, a.token)).status).toBe(201);
    await Bun.sleep(Math.max(0, validUntil - Date.now()) + 300);
    expect((await issue(coupon.id, b.user.id, b.token)).body.code).toBe("COUPON_NOT_ACTIVE");
    expect((await t.get(`/api/v1/coupons/${coupon.id}`, { token: a.token })).body.status).toBe("EXPIRED");
  });

  it("answers 404 COUPON_NOT_FOUND for an unknown coupon", async () => {
    const { user, token } = await t.registerUser("BUYER");
    const res = await issue(Bun.randomUUIDv7(), user.id, token);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("COUPON_NOT_FOUND");
  });

  it("forbids issuing to someone else, unless the caller is the issuer or an ADMIN", async () => {
    const coupon = await createCoupon(t, seller.token);
    const [buyer, other] = [await t.registerUser("BUYER"), await t.registerUser("BUYER")];
    const forbidden = await issue(coupon.id, other.user.id, buyer.token);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe("FORBIDDEN");
    expect((await issue(coupon.id, other.user.id, otherSeller.token)).status).toBe(403);
    expect((await issue(coupon.id, other.user.id, seller.token)).status).toBe(201);
    expect((await issue(coupon.id, buyer.user.id, admin.token)).status).toBe(201);
  });

  it("answers 404 USER_NOT_FOUND to an ADMIN issuing to an unknown user, and uses up no unit", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 1 });
    const res = await issue(coupon.id, Bun.randomUUIDv7(), admin.token);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("USER_NOT_FOUND");
    const { user, token } = await t.registerUser("BUYER");
    expect((await issue(coupon.id, user.id, token)).status).toBe(201);
  });

  it.each([
    ["no couponId", { userId: Bun.randomUUIDv7() }, "couponId"],
    ["a couponId that is not a UUID", { couponId: "DROP-1", userId: Bun.randomUUIDv7() }, "couponId"],
    ["a userId that is not a UUID", { couponId: Bun.randomUUIDv7(), userId: 42 }, "userId"],
  ])("refuses %s with 400", async (_, body, field) => {
    const { token } = await t.registerUser("BUYER");
    const res = await t.post(path, body, { token });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe(field);
  });

  it("replays the same 201 for a retried Idempotency-Key instead of COUPON_ALREADY_ISSUED", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 3 });
    const { user, token } = await t.registerUser("BUYER");
    const key = crypto.randomUUID();
    const first = await issue(coupon.id, user.id, token, { "Idempotency-Key": key });
    const replay = await issue(coupon.id, user.id, token, { "Idempotency-Key": key });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    const fresh = await issue(coupon.id, user.id, token, { "Idempotency-Key": crypto.randomUUID() });
    expect(fresh.body.code).toBe("COUPON_ALREADY_ISSUED");
    const reused = await t.post(
      path,
      { couponId: coupon.id, userId: admin.user.id },
      { token, headers: { "Idempotency-Key": key } },
    );
    expect(reused.status).toBe(422);
    expect((await t.get(`/api/v1/coupons/${coupon.id}`, { token })).body.issuedQuantity).toBe(1);
  });
});

describe("a claim inside a keyed request whose transaction rolls back", () => {
  it("is given back, so the unit is not lost and the retry gets it", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 1 });
    const { user, token } = await t.registerUser("BUYER");
    const repository = (t.container.services.idempotency as any).repository;
    const claimAnswered = repository.claimAnswered;
    // The claim and the PostgreSQL write succeed; storing the response then fails: everything rolls back.
    repository.claimAnswered = async () => {
      throw new Error("could not store the response");
    };
    const key = crypto.randomUUID();
    const keyedClaim = () =>
      t.post(
        "/api/v1/coupons/issue/limited",
        { couponId: coupon.id, userId: user.id },
        {
          token,
          headers: { "Idempotency-Key": key },
        },
      );
    try {
      expect((await keyedClaim()).status).toBe(500);
    } finally {
      repository.claimAnswered = claimAnswered;
    }
    expect((await t.get(`/api/v1/coupons/${coupon.id}`, { token })).body.issuedQuantity).toBe(0);
    const retried = await keyedClaim();
    expect(retried.status).toBe(201);
    expect(retried.headers.get("Idempotent-Replayed")).toBeNull();
  });
});

import { describe, expect, it } from "bun:test";
import { eq, sql } from "drizzle-orm";
import type { NewCouponRecord } from "../../src/domain/coupons/ports";
import { DrizzleCouponRepository } from "../../src/infra/db/repositories/coupon-repository";
import { DrizzleUserCouponRepository } from "../../src/infra/db/repositories/user-coupon-repository";
import { coupons, users } from "../../src/infra/db/schema";
import { Transactions } from "../../src/infra/db/transactions";
import { domainErrorOf } from "../support/domain-error";
import { openTestDatabase } from "../support/harness";

const database = openTestDatabase();
const transactions = new Transactions(database.db);
const repository = new DrizzleCouponRepository(transactions);
const userCoupons = new DrizzleUserCouponRepository(transactions);
const HOUR = 3600_000;

async function newUser(role: "SELLER" | "BUYER" = "BUYER") {
  const id = Bun.randomUUIDv7();
  await database.db.insert(users).values({
    id,
    email: `repo-${id}@test.kicks`,
    passwordHash: "x",
    name: "Repo",
    role,
    businessRegistrationNumber: role === "SELLER" ? "124-81-00998" : null,
  });
  return id;
}

const issuerId = await newUser("SELLER");

const record = (overrides: Partial<NewCouponRecord> = {}): NewCouponRecord => ({
  id: Bun.randomUUIDv7(),
  code: `R-${crypto.randomUUID().slice(0, 12)}`,
  name: "Repository coupon",
  issuerId,
  type: "PERCENTAGE",
  discountValue: 10,
  maxDiscountAmount: null,
  minOrderAmount: 0,
  totalQuantity: 10,
  validFrom: new Date(Date.now() - HOUR),
  validUntil: new Date(Date.now() + HOUR),
  ...overrides,
});

describe("the coupons table", () => {
  it("refuses a code that exists in another case", async () => {
    const coupon = await repository.insert(record({ code: "Case-Test-1" }));
    expect(coupon.code).toBe("Case-Test-1");
    const error = await domainErrorOf(repository.insert(record({ code: "CASE-test-1" })));
    expect(error.code).toBe("COUPON_CODE_TAKEN");
  });

  it.each([
    ["a percentage above 100", { discountValue: 101 }],
    ["a discount of 0", { type: "FIXED" as const, discountValue: 0 }],
    ["a cap on a FIXED coupon", { type: "FIXED" as const, discountValue: 1000, maxDiscountAmount: 500 }],
    ["a negative minimum order", { minOrderAmount: -1 }],
    ["a quantity of 0", { totalQuantity: 0 }],
    ["a window that ends before it starts", { validUntil: new Date(Date.now() - 2 * HOUR) }],
  ])("refuses %s by itself, whatever the service let through", async (_, overrides) => {
    await expect(repository.insert(record(overrides))).rejects.toThrow();
  });

  it("refuses to count more issues than units, even written directly", async () => {
    const coupon = await repository.insert(record({ totalQuantity: 2 }));
    const overIssue = async () =>
      database.db
        .update(coupons)
        .set({ issuedQuantity: sql`${coupons.totalQuantity} + 1` })
        .where(eq(coupons.id, coupon.id));
    await expect(overIssue()).rejects.toThrow();
  });
});

describe("incrementIssued", () => {
  it("counts one issue and refuses once none are left", async () => {
    const coupon = await repository.insert(record({ totalQuantity: 1 }));
    expect((await repository.incrementIssued(coupon.id, new Date()))?.issuedQuantity).toBe(1);
    expect(await repository.incrementIssued(coupon.id, new Date())).toBeUndefined();
  });

  it.each([
    ["suspended", { suspendedAt: new Date() }],
    ["cancelled", { cancelledAt: new Date() }],
  ])("refuses a %s coupon", async (_, lifecycle) => {
    const coupon = await repository.insert(record());
    await repository.saveLifecycle(coupon.id, { suspendedAt: null, cancelledAt: null, ...lifecycle });
    expect(await repository.incrementIssued(coupon.id, new Date())).toBeUndefined();
  });

  it("refuses outside the window: from validFrom inclusive to validUntil exclusive", async () => {
    const coupon = await repository.insert(record());
    expect(await repository.incrementIssued(coupon.id, new Date(coupon.validFrom.getTime() - 1))).toBeUndefined();
    expect(await repository.incrementIssued(coupon.id, coupon.validUntil)).toBeUndefined();
    expect(await repository.incrementIssued(coupon.id, coupon.validFrom)).toBeDefined();
  });

  it("never goes past the total under 40 concurrent transactions", async () => {
    const coupon = await repository.insert(record({ totalQuantity: 7 }));
    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        transactions.withTransaction(() => repository.incrementIssued(coupon.id, new Date())),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(7);
    expect((await repository.find(coupon.id))?.issuedQuantity).toBe(7);
  });
});

describe("snapshot", () => {
  it("reads the coupon and every holder in one statement", async () => {
    const coupon = await repository.insert(record());
    const holders = [await newUser(), await newUser()];
    for (const userId of holders) {
      await userCoupons.insert({ id: Bun.randomUUIDv7(), couponId: coupon.id, userId, issuedAt: new Date() });
    }
    const snapshot = await repository.snapshot(coupon.id);
    expect(snapshot?.coupon.id).toBe(coupon.id);
    expect([...(snapshot?.holderIds ?? [])].sort()).toEqual([...holders].sort());
    expect((await repository.snapshot((await repository.insert(record())).id))?.holderIds).toEqual([]);
    expect(await repository.snapshot(Bun.randomUUIDv7())).toBeUndefined();
  });
});

describe("the user_coupons table", () => {
  it("holds one per user per coupon", async () => {
    const coupon = await repository.insert(record());
    const userId = await newUser();
    const first = await userCoupons.insert({
      id: Bun.randomUUIDv7(),
      couponId: coupon.id,
      userId,
      issuedAt: new Date(),
    });
    expect(first).toMatchObject({ couponId: coupon.id, userId, status: "ISSUED" });
    expect(
      await userCoupons.insert({ id: Bun.randomUUIDv7(), couponId: coupon.id, userId, issuedAt: new Date() }),
    ).toBeUndefined();
  });

  it("answers USER_NOT_FOUND for an unknown user", async () => {
    const coupon = await repository.insert(record());
    const error = await domainErrorOf(
      userCoupons.insert({
        id: Bun.randomUUIDv7(),
        couponId: coupon.id,
        userId: Bun.randomUUIDv7(),
        issuedAt: new Date(),
      }),
    );
    expect(error.code).toBe("USER_NOT_FOUND");
  });

  it("refuses a USED coupon without its order, and an order on an unused one", async () => {
    const coupon = await repository.insert(record());
    const held = await userCoupons.insert({
      id: Bun.randomUUIDv7(),
      couponId: coupon.id,
      userId: await newUser(),
      issuedAt: new Date(),
    });
    const id = held?.id as string;
    const update = async (change: ReturnType<typeof sql>) =>
      database.db.execute(sql`update user_coupons set ${change} where id = ${id}`);
    await expect(update(sql`status = 'USED'`)).rejects.toThrow();
    await expect(update(sql`order_id = ${Bun.randomUUIDv7()}`)).rejects.toThrow();
  });
});

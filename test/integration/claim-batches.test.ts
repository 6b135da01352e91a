import { afterAll, describe, expect, it } from "bun:test";
import { eq } from "drizzle-orm";
import { ClaimBatches } from "../../src/domain/coupons/claim-batches";
import type { ClaimTicket, CouponIssueObserver } from "../../src/domain/coupons/ports";
import { DrizzleCouponRepository } from "../../src/infra/db/repositories/coupon-repository";
import { DrizzleOutboxWriter } from "../../src/infra/db/repositories/outbox-repository";
import { DrizzleUserCouponRepository } from "../../src/infra/db/repositories/user-coupon-repository";
import { couponEvents, userCoupons as userCouponsTable } from "../../src/infra/db/schema";
import { Transactions } from "../../src/infra/db/transactions";
import { systemClock } from "../../src/infra/system-clock";
import { createCoupon } from "../support/coupons";
import { createTestApp } from "../support/harness";
import { cheapBuyers } from "../support/users";

// The group commit of the drop path, on the real database: claims Redis granted (made up here) written many
// per transaction, and every claim the group cannot write handed back for a write of its own.
const t = await createTestApp();
afterAll(() => t.close());
const seller = await t.registerUser("SELLER");
const transactions = new Transactions(t.container.database.db);
const coupons = new DrizzleCouponRepository(transactions);
const userCoupons = new DrizzleUserCouponRepository(transactions);

function batches() {
  const groups: number[] = [];
  const failures: unknown[] = [];
  const observer = {
    claimsWritten: (count: number, error?: unknown) =>
      error === undefined ? groups.push(count) : failures.push(error),
  } as unknown as CouponIssueObserver;
  const writer = new ClaimBatches({
    coupons,
    userCoupons,
    unitOfWork: transactions,
    outbox: new DrizzleOutboxWriter(transactions, () => Bun.randomUUIDv7()),
    clock: systemClock,
    newId: () => Bun.randomUUIDv7(),
    observer,
  });
  return { writer, groups, failures };
}

const ticket = (couponId: string, userId: string): ClaimTicket => ({ couponId, userId, epoch: "e", claimedAtMs: 1 });
const buyers = (n: number) => cheapBuyers(t.container.database, t.container.services.tokens, n);
const rowsOf = (couponId: string) =>
  t.container.database.db.select().from(userCouponsTable).where(eq(userCouponsTable.couponId, couponId));

describe("ClaimBatches", () => {
  it("writes one claim at once, and those that arrive meanwhile together, with their events", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 100 });
    const users = await buyers(60);
    const { writer, groups } = batches();
    const written = await Promise.all(users.map((user) => writer.write(ticket(coupon.id, user.id))));
    expect(written.every(Boolean)).toBe(true);
    expect(written.map((w) => w?.userId)).toEqual(users.map((u) => u.id));
    expect(groups.reduce((a, b) => a + b, 0)).toBe(60);
    expect(groups[0]).toBe(1);
    expect(groups.length).toBeLessThan(60);
    expect((await coupons.find(coupon.id))?.issuedQuantity).toBe(60);
    const events = await t.container.database.db
      .select()
      .from(couponEvents)
      .where(eq(couponEvents.aggregateId, written[59]?.id as string));
    expect(events.map((e) => e.type)).toEqual(["COUPON_ISSUED"]);
    expect(written[59]?.coupon.issuedQuantity).toBeGreaterThan(1);
  });

  it("writes no more claims than PostgreSQL has units, and hands the rest back", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 3 });
    const users = await buyers(8);
    const { writer } = batches();
    const written = await Promise.all(users.map((user) => writer.write(ticket(coupon.id, user.id))));
    expect(written.filter(Boolean)).toHaveLength(3);
    expect(await rowsOf(coupon.id)).toHaveLength(3);
    expect((await coupons.find(coupon.id))?.issuedQuantity).toBe(3);
  });

  it("hands back the claim of a user who already holds one, and writes the others of its group", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 10 });
    const [holder, ...others] = await buyers(5);
    await userCoupons.insert({ id: Bun.randomUUIDv7(), couponId: coupon.id, userId: holder!.id, issuedAt: new Date() });
    await coupons.incrementIssued(coupon.id, new Date());
    const { writer } = batches();
    const blocker = writer.write(ticket(coupon.id, others[0]!.id));
    const group = [holder!, ...others.slice(1)].map((user) => writer.write(ticket(coupon.id, user.id)));
    const [first, held, ...rest] = await Promise.all([blocker, ...group]);
    expect(first?.userId).toBe(others[0]!.id);
    expect(held).toBeUndefined();
    expect(rest.every(Boolean)).toBe(true);
    expect((await coupons.find(coupon.id))?.issuedQuantity).toBe(5);
  });

  it("hands every claim back when the group fails as a whole, and writes nothing of it", async () => {
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 10 });
    const users = await buyers(3);
    const { writer, failures } = batches();
    const blocker = writer.write(ticket(coupon.id, users[0]!.id));
    // An unknown user in the group: its foreign key fails the group's insert.
    const group = [users[1]!.id, Bun.randomUUIDv7(), users[2]!.id].map((id) => writer.write(ticket(coupon.id, id)));
    const [first, ...rest] = await Promise.all([blocker, ...group]);
    expect(first).toBeDefined();
    expect(rest).toEqual([undefined, undefined, undefined]);
    expect(failures).toHaveLength(1);
    expect(await rowsOf(coupon.id)).toHaveLength(1);
  });

  it("hands back every claim of a coupon PostgreSQL says is closed", async () => {
    const coupon = await createCoupon(t, seller.token);
    await coupons.saveLifecycle(coupon.id, { suspendedAt: new Date(), cancelledAt: null });
    const users = await buyers(2);
    const { writer } = batches();
    expect(await Promise.all(users.map((user) => writer.write(ticket(coupon.id, user.id))))).toEqual([
      undefined,
      undefined,
    ]);
    expect(await rowsOf(coupon.id)).toHaveLength(0);
  });
});

import type { OutboxWriter } from "../outbox/ports";
import type { Clock } from "../shared/clock";
import type { UnitOfWork } from "../shared/unit-of-work";
import type { HeldCouponView } from "./coupon";
import { couponIssued } from "./coupon-events";
import type { ClaimTicket, CouponIssueObserver, CouponRepository, UserCouponRepository } from "./ports";
import { toHeldCouponView } from "./views";

/** Claims written by one transaction at most: a statement of that many rows stays quick. */
export const MAX_CLAIM_BATCH = 200;

interface Pending {
  ticket: ClaimTicket;
  done: (written: HeldCouponView | undefined) => void;
}

interface ClaimBatchesDeps {
  coupons: CouponRepository;
  userCoupons: UserCouponRepository;
  unitOfWork: UnitOfWork;
  outbox: OutboxWriter;
  clock: Clock;
  newId: () => string;
  observer?: CouponIssueObserver;
}

/**
 * Group commit for a drop. Every issue of a coupon updates its one row, and a row lock is held until the
 * commit is on disk: written one by one, claims would queue behind one flush each (a few hundred per second).
 * Here the claims Redis granted while a write was under way wait for it and are then written together: the
 * row locked once, the units checked, the user coupons and their COUPON_ISSUED events inserted, the count
 * raised by as many — one transaction and one flush for the group. Alone, a claim is written at once.
 *
 * A claim this cannot write (the coupon closed or full in PostgreSQL, the user already holding one, the group
 * failing as a whole) comes back undefined, and the caller writes it on its own, with its exact answer and
 * compensation. So the group changes how fast claims are written, never what any of them answers.
 */
export class ClaimBatches {
  readonly #queues = new Map<string, Pending[]>();

  constructor(private readonly deps: ClaimBatchesDeps) {}

  /** The claim written with others, or undefined if it must be written on its own. */
  write(ticket: ClaimTicket): Promise<HeldCouponView | undefined> {
    return new Promise((done) => {
      const queue = this.#queues.get(ticket.couponId);
      if (queue) {
        queue.push({ ticket, done });
        return;
      }
      this.#queues.set(ticket.couponId, [{ ticket, done }]);
      void this.#drain(ticket.couponId);
    });
  }

  /** Writes the coupon's waiting claims, group after group, until none are left. */
  async #drain(couponId: string): Promise<void> {
    const queue = this.#queues.get(couponId) as Pending[];
    while (queue.length > 0) {
      const group = queue.splice(0, MAX_CLAIM_BATCH);
      let written: (HeldCouponView | undefined)[] = [];
      try {
        written = await this.#writeGroup(
          couponId,
          group.map((pending) => pending.ticket),
        );
        this.deps.observer?.claimsWritten(written.filter(Boolean).length);
      } catch (error) {
        this.deps.observer?.claimsWritten(0, error);
      }
      for (const [i, pending] of group.entries()) pending.done(written[i]);
    }
    this.#queues.delete(couponId);
  }

  /** One transaction; the result lines up with `tickets` (undefined: not written here). */
  #writeGroup(couponId: string, tickets: ClaimTicket[]): Promise<(HeldCouponView | undefined)[]> {
    const now = this.deps.clock.now();
    return this.deps.unitOfWork.withTransaction(async () => {
      const coupon = await this.deps.coupons.lockIfIssuable(couponId, now);
      if (!coupon) return [];
      // The row is locked: these units are ours to give, and no more than these.
      const room = coupon.totalQuantity - coupon.issuedQuantity;
      const rows = tickets
        .slice(0, room)
        .map((ticket) => ({ id: this.deps.newId(), couponId, userId: ticket.userId, issuedAt: now }));
      const inserted = await this.deps.userCoupons.insertMany(rows);
      if (inserted.length === 0) return [];
      await this.deps.outbox.append("coupon", ...inserted.map((userCoupon) => couponIssued(userCoupon, "limited")));
      const counted = await this.deps.coupons.addIssued(couponId, inserted.length);
      const byId = new Map(inserted.map((userCoupon) => [userCoupon.id, userCoupon]));
      return rows.map((row) => {
        const userCoupon = byId.get(row.id);
        return userCoupon && toHeldCouponView({ ...userCoupon, coupon: counted }, now);
      });
    });
  }
}

import type { BalanceService } from "../balances/balance-service";
import type { StockService } from "../catalogue/stock-service";
import { applyCancellation } from "../orders/cancellation";
import { type Order, toOrderView } from "../orders/order";
import { CANCEL_BY_REFUND_STATUSES, REFUNDABLE_STATUSES } from "../orders/order-status";
import type { CouponRedemption, OrderRepository } from "../orders/ports";
import type { OutboxWriter } from "../outbox/ports";
import type { PaymentGateway } from "../payments/ports";
import type { ReturnService } from "../returns/return-service";
import type { Alerts } from "../shared/alerts";
import { retryDelayMs } from "../shared/backoff";
import type { Clock } from "../shared/clock";
import { DomainError } from "../shared/errors";
import type { UnitOfWork } from "../shared/unit-of-work";
import { assertOwnerOrAdmin } from "../users/access";
import type { Actor } from "../users/user";
import { type Refund, type RefundRepository, type RefundView, toRefundView } from "./refund";
import { UNFINISHED_REFUND_STATUSES } from "./refund-status";

/** Default of REFUND_LEASE_SECONDS: how long one try owns its refund before another process may take it over. */
export const REFUND_LEASE_SECONDS = 60;

export type RefundOutcome = "refunded" | "failed" | "manual";

export interface RefundObserver {
  outcome(outcome: RefundOutcome): void;
}

interface RefundServiceDeps {
  refunds: RefundRepository;
  orders: OrderRepository;
  balances: Pick<BalanceService, "applyChange">;
  stock: StockService;
  /** Units of an order refunded in full after it shipped wait for their return instead of going back on sale. */
  returns: Pick<ReturnService, "awaitReturnOf">;
  coupons: CouponRedemption;
  outbox: OutboxWriter;
  gateway: PaymentGateway;
  alerts: Alerts;
  unitOfWork: UnitOfWork;
  clock: Clock;
  newId: () => string;
  /** REFUND_MAX_ATTEMPTS, RETRY_BASE_DELAY_MS and REFUND_LEASE_SECONDS. */
  maxAttempts: number;
  retryBaseDelayMs: number;
  leaseSeconds: number;
  observer?: RefundObserver;
  /** Extra work in the transaction that lands a refund (sales statistics). */
  onRefunded?: (order: Order, amount: number, fullyRefunded: boolean) => Promise<void>;
}

export interface RefundRequest {
  orderId: string;
  /** Defaults to everything still refundable. */
  amount?: number;
  reason: string;
}

/** The Idempotency-Key a refund request came with, and a fingerprint of what it asked. */
interface RefundRequestKey {
  key: string;
  requestHash: string;
}

const isFinalRefund = (status: Refund["status"]) => !UNFINISHED_REFUND_STATUSES.includes(status);

/** Same order, amount (or none) and reason: the same request, however its JSON was spelled. */
const fingerprint = (request: RefundRequest) =>
  new Bun.CryptoHasher("sha256")
    .update(JSON.stringify([request.orderId, request.amount ?? null, request.reason]))
    .digest("hex");

/** What recording a request left: a refund it made (claimed for its first try, or landed), or one made before. */
interface Opened {
  refund: Refund;
  fresh: boolean;
}

/**
 * Refunds of paid orders. The amount is decided under the order's row lock (paid − refunded − held by
 * refunds in progress), so parallel refunds never add up to more than was paid; it stays held until the
 * refund lands (REFUNDED: balance credited, REFUND_COMPLETED) or is left to a person (MANUAL). When refunds
 * add up to what was paid, the order is cancelled: stock back on sale (or, once it has shipped, awaiting the
 * return the seller records), coupon back to the buyer.
 *
 * Nothing recorded waits for a request that may never come back: a refund is committed already claimed for
 * its first try (PROCESSING, leased), so if the process dies at any point the retry job, on any instance,
 * takes it over when the lease runs out. Every try claims the refund for itself (attempts + 1: a fencing
 * token) just before it asks the gateway, and records its outcome only while it still holds it; the gateway
 * gets the refund id as idempotency key, so a try taken over never refunds twice.
 */
export class RefundService {
  constructor(private readonly deps: RefundServiceDeps) {}

  /**
   * POST /refunds. With an Idempotency-Key the refund carries the key: a retry of the request (after its
   * process died, or after a 5xx released the key) finds that refund and goes on with it, never a second.
   * `provisional` when the answer is such a refund still on its way (held by a try that may have died):
   * not an answer to keep for replays, as the next retry will find it further along.
   */
  async request(
    actor: Actor,
    request: RefundRequest,
    idempotencyKey?: string,
  ): Promise<{ refund: RefundView; provisional: boolean }> {
    const requestKey =
      idempotencyKey === undefined ? undefined : { key: idempotencyKey, requestHash: fingerprint(request) };
    const opened = (await this.#open(actor, request, "refund", requestKey)) as Opened;
    const refund = await this.#carryOn(opened);
    return { refund: toRefundView(refund), provisional: !opened.fresh && !isFinalRefund(refund.status) };
  }

  /**
   * A buyer's (or admin's) cancel of a CONFIRMED or PREPARING order: everything still refundable is refunded,
   * and the order ends CANCELLED once every refund of it has landed. `settled` says whether it is CANCELLED
   * now; when refunds in progress already hold the whole remainder, nothing new is refunded (the order is
   * cancelled when they land; a MANUAL one waits for a person).
   */
  async cancelPaid(
    actor: Actor,
    orderId: string,
  ): Promise<{ order: ReturnType<typeof toOrderView>; settled: boolean }> {
    const opened = await this.#open(actor, { orderId, reason: "order cancelled" }, "cancel");
    if (opened) await this.#carryOn(opened);
    const order = (await this.deps.orders.find(orderId)) as Order;
    return { order: toOrderView(order), settled: order.status === "CANCELLED" };
  }

  async get(actor: Actor, refundId: string): Promise<RefundView> {
    const refund = await this.deps.refunds.find(refundId);
    if (!refund) throw new DomainError("REFUND_NOT_FOUND", `No refund ${refundId}`);
    assertOwnerOrAdmin(actor, refund.userId, "This refund is not yours");
    return toRefundView(refund);
  }

  /**
   * The retry job: tries refunds that are due (failed past their backoff, a dead try's lease run out, or
   * recorded by a process that died before committing its claim). Each try claims its refund just before
   * the gateway call, so nothing is held that is not being tried, and a run stops starting tries once a
   * lease's worth of time is spent. Returns how many were due.
   */
  async retryDue(limit = 50): Promise<number> {
    const startedAt = this.deps.clock.now().getTime();
    const due = await this.deps.refunds.dueIds(limit);
    for (const refundId of due) {
      if (this.deps.clock.now().getTime() - startedAt >= this.deps.leaseSeconds * 1000) break;
      const claimed = await this.deps.refunds.claim(refundId, this.deps.leaseSeconds);
      // Taken by another process meanwhile, or landed: not ours to try.
      if (claimed) await this.#tryHeld(claimed);
    }
    return due.length;
  }

  /**
   * Decides the amount under the order's lock and records the refund, holding its amount and claiming its
   * first try in the same transaction. A refund of nothing (an order paid in full by a coupon) lands here at
   * once. Undefined for a cancel whose remainder refunds in progress already hold.
   */
  async #open(
    actor: Actor,
    request: RefundRequest,
    mode: "refund" | "cancel",
    requestKey?: RefundRequestKey,
  ): Promise<Opened | undefined> {
    return this.deps.unitOfWork.withTransaction(async () => {
      const order = await this.deps.orders.lockForRefund(request.orderId);
      if (!order) throw new DomainError("ORDER_NOT_FOUND", `No order ${request.orderId}`);
      assertOwnerOrAdmin(actor, order.userId, "Only the order's buyer or an admin may refund it");
      if (requestKey) {
        // Under the order's lock: a retry waits for the first request's transaction, then sees its refund.
        const earlier = await this.deps.refunds.findByRequest(actor.userId, requestKey.key);
        if (earlier) {
          if (earlier.requestHash !== requestKey.requestHash) {
            throw new DomainError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request");
          }
          return { refund: earlier, fresh: false };
        }
      }
      const amount = amountToRefund(order, request, mode);
      if (amount === undefined) return undefined;

      if (amount > 0) await this.deps.orders.holdRefund(order.id, amount);
      const created = await this.deps.refunds.create({
        id: this.deps.newId(),
        orderId: order.id,
        paymentId: order.paymentId as string,
        userId: order.userId,
        amount,
        reason: request.reason,
        requestedBy: actor.userId,
        ...(requestKey ? { idempotencyKey: requestKey.key, requestHash: requestKey.requestHash } : {}),
      });
      if (!created) {
        // The same key for another order, recorded by a request that ran alongside this one.
        throw new DomainError("IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key was just recorded");
      }
      if (amount === 0) return { refund: await this.#land(created), fresh: true };
      const claimed = (await this.deps.refunds.claim(created.id, this.deps.leaseSeconds)) as Refund;
      return { refund: claimed, fresh: true };
    });
  }

  /** After recording: the first try of a fresh refund; an earlier one is tried if it is due, else shown. */
  async #carryOn({ refund, fresh }: Opened): Promise<Refund> {
    if (fresh) return refund.status === "PROCESSING" ? this.#tryHeld(refund) : refund;
    const claimed = await this.deps.refunds.claim(refund.id, this.deps.leaseSeconds);
    return claimed ? this.#tryHeld(claimed) : ((await this.deps.refunds.find(refund.id)) as Refund);
  }

  /** One try of a refund this process holds (claimed with `held.attempts` as its token). */
  async #tryHeld(held: Refund): Promise<Refund> {
    const refunded = await this.deps.gateway
      .refund({ refundId: held.id, paymentId: held.paymentId, amount: held.amount })
      .catch(() => false);
    if (!refunded) return this.#failed(held, "the gateway did not confirm the refund");
    try {
      return await this.#land(held);
    } catch (error) {
      // The gateway refunded but the books could not take it (the database away, say; never the balance cap,
      // which bounds top-ups only): retried like a gateway failure (the gateway answers a retry idempotently),
      // then left to a person with an alert.
      const reason = error instanceof DomainError ? `${error.code}: ${error.message}` : String(error);
      return this.#failed(held, `the refund could not be credited: ${reason}`);
    }
  }

  /**
   * REFUNDED, the balance credited, the order's books moved, and a full refund cancels the order. Only by
   * the try that holds the refund: one taken over meanwhile lands through its new holder (once).
   */
  async #land(held: Refund): Promise<Refund> {
    return this.deps.unitOfWork.withTransaction(async () => {
      const landed = await this.deps.refunds.settle(held, "REFUNDED");
      if (!landed) return (await this.deps.refunds.find(held.id)) as Refund;
      if (landed.amount > 0) await this.deps.balances.applyChange(landed.userId, landed.amount, "REFUND", landed.id);
      const order = await this.deps.orders.settleRefund(landed.orderId, landed.amount);
      await this.deps.outbox.append("order", {
        aggregateId: order.id,
        type: "REFUND_COMPLETED",
        payload: { ...toRefundView(landed), refundedAmount: order.refundedAmount, paidAmount: order.paidAmount },
      });
      const cancelled =
        order.refundedAmount === order.paidAmount ? await this.deps.orders.cancelRefunded(order.id) : undefined;
      // `order` is as it was before this cancel: shipped or later, the pairs are with the buyer (contract: Returns).
      if (cancelled) await applyCancellation(this.deps, cancelled, order.status);
      // After the restock, as payments do it: product rows first, then the sales rows (one lock order).
      await this.deps.onRefunded?.(order, landed.amount, cancelled !== undefined);
      this.deps.observer?.outcome("refunded");
      return landed;
    });
  }

  async #failed(held: Refund, error: string): Promise<Refund> {
    if (held.attempts >= this.deps.maxAttempts) {
      const manual = await this.deps.refunds.settle(held, "MANUAL", { lastError: error });
      if (!manual) return (await this.deps.refunds.find(held.id)) as Refund;
      this.deps.observer?.outcome("manual");
      await this.deps.alerts.raise({
        kind: "REFUND_MANUAL",
        summary: `refund ${held.id} failed ${held.attempts} times and needs a person`,
        details: { refundId: held.id, orderId: held.orderId, amount: held.amount, lastError: error },
      });
      return manual;
    }
    const failed = await this.deps.refunds.settle(held, "FAILED", {
      lastError: error,
      retryInMs: retryDelayMs(held.attempts, this.deps.retryBaseDelayMs),
    });
    if (failed) this.deps.observer?.outcome("failed");
    return failed ?? ((await this.deps.refunds.find(held.id)) as Refund);
  }
}

/**
 * The amount a request refunds (contract: Refunds, Orders → cancel), decided under the order's lock; undefined
 * when a cancel finds the remainder already held by refunds in progress (it is cancelled when they land).
 * An order paid in full by a coupon (nothing paid) is refunded once, with 0: stock and coupon back.
 */
function amountToRefund(order: Order, request: RefundRequest, mode: "refund" | "cancel"): number | undefined {
  if (mode === "cancel" && !CANCEL_BY_REFUND_STATUSES.includes(order.status)) {
    throw new DomainError(
      "ORDER_NOT_CANCELLABLE",
      order.status === "CANCELLED"
        ? "The order is already cancelled"
        : `An order that is ${order.status} can no longer be cancelled`,
    );
  }
  if (!REFUNDABLE_STATUSES.includes(order.status) || !order.paymentId) {
    throw new DomainError("ORDER_NOT_REFUNDABLE", `An order that is ${order.status} cannot be refunded`);
  }
  const remainder = order.paidAmount - order.refundedAmount - order.refundPendingAmount;
  if (request.amount === undefined) {
    if (remainder > 0 || order.paidAmount === 0) return remainder;
    if (mode === "cancel") return undefined;
    throw new DomainError(
      "ORDER_NOT_REFUNDABLE",
      order.refundPendingAmount > 0
        ? "Nothing is left to refund on this order: refunds in progress hold the rest"
        : "Nothing is left to refund on this order",
      undefined,
      { refundable: 0 },
    );
  }
  if (request.amount > remainder) {
    throw new DomainError(
      "REFUND_EXCEEDS_PAID",
      remainder === 0
        ? "Nothing is left to refund on this order (refunds in progress hold the rest)"
        : `At most ${remainder} KRW of this order can still be refunded`,
      [{ path: "amount", message: `must be from 1 to ${remainder}` }],
      { refundable: remainder },
    );
  }
  return request.amount;
}

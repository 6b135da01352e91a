import type { BalanceService } from "../balances/balance-service";
import type { StockService } from "../catalogue/stock-service";
import { type Order, toOrderView } from "../orders/order";
import { CANCEL_BY_REFUND_STATUSES, REFUNDABLE_STATUSES } from "../orders/order-status";
import type { CouponRedemption, OrderRepository } from "../orders/ports";
import type { OutboxWriter } from "../outbox/ports";
import type { PaymentGateway } from "../payments/ports";
import type { Alerts } from "../shared/alerts";
import { retryDelayMs } from "../shared/backoff";
import { DomainError } from "../shared/errors";
import type { UnitOfWork } from "../shared/unit-of-work";
import type { Actor } from "../users/user";
import { type Refund, type RefundRepository, type RefundView, toRefundView } from "./refund";

/** How long one try may take before another process may take the refund over (well above the gateway timeout). */
export const REFUND_LEASE_SECONDS = 60;

export type RefundOutcome = "refunded" | "failed" | "manual";

interface RefundServiceDeps {
  refunds: RefundRepository;
  orders: OrderRepository;
  balances: Pick<BalanceService, "applyChange">;
  stock: StockService;
  coupons: CouponRedemption;
  outbox: OutboxWriter;
  gateway: PaymentGateway;
  alerts: Alerts;
  unitOfWork: UnitOfWork;
  newId: () => string;
  /** REFUND_MAX_ATTEMPTS and RETRY_BASE_DELAY_MS. */
  maxAttempts: number;
  retryBaseDelayMs: number;
  observer?: { outcome(outcome: RefundOutcome): void };
  /** Extra work in the transaction that lands a refund (sales statistics). */
  onRefunded?: (order: Order, amount: number, fullyRefunded: boolean) => Promise<void>;
}

export interface RefundRequest {
  orderId: string;
  /** Defaults to everything still refundable. */
  amount?: number;
  reason: string;
}

/**
 * Refunds of paid orders. The amount is decided under the order's row lock (paid − refunded − held by
 * refunds in progress), so parallel refunds never add up to more than was paid; it stays held until the
 * refund lands (REFUNDED: balance credited, REFUND_COMPLETED) or is left to a person (MANUAL). When refunds
 * add up to what was paid, the order is cancelled: stock back on sale, coupon back to the buyer. Each try
 * asks the gateway with the refund id as idempotency key, so trying again never refunds twice.
 */
export class RefundService {
  constructor(private readonly deps: RefundServiceDeps) {}

  async request(actor: Actor, request: RefundRequest): Promise<RefundView> {
    const refund = await this.#open(actor, request);
    return toRefundView(await this.#attempt(refund.id));
  }

  /**
   * A buyer's (or admin's) cancel of a CONFIRMED or PREPARING order: everything still refundable is refunded,
   * and the order ends CANCELLED once it lands. `settled` says whether it landed within this request.
   */
  async cancelPaid(
    actor: Actor,
    orderId: string,
  ): Promise<{ order: ReturnType<typeof toOrderView>; settled: boolean }> {
    const refund = await this.#open(actor, { orderId, reason: "order cancelled" }, CANCEL_BY_REFUND_STATUSES);
    const tried = await this.#attempt(refund.id);
    const order = (await this.deps.orders.find(orderId)) as Order;
    return { order: toOrderView(order), settled: tried.status === "REFUNDED" };
  }

  async get(actor: Actor, refundId: string): Promise<RefundView> {
    const refund = await this.deps.refunds.find(refundId);
    if (!refund) throw new DomainError("REFUND_NOT_FOUND", `No refund ${refundId}`);
    if (actor.role !== "ADMIN" && refund.userId !== actor.userId) {
      throw new DomainError("FORBIDDEN", "This refund is not yours");
    }
    return toRefundView(refund);
  }

  /** The retry job: tries every refund whose backoff (or a dead try's lease) has run out. */
  async retryDue(limit = 50): Promise<number> {
    const due = await this.deps.unitOfWork.withTransaction(() =>
      this.deps.refunds.claimDue(limit, REFUND_LEASE_SECONDS),
    );
    for (const refundId of due) await this.#try(refundId);
    return due.length;
  }

  /** Decides the amount under the order's lock and records the refund, holding its amount. */
  async #open(actor: Actor, request: RefundRequest, statuses = REFUNDABLE_STATUSES): Promise<Refund> {
    return this.deps.unitOfWork.withTransaction(async () => {
      const order = await this.deps.orders.lockForRefund(request.orderId);
      if (!order) throw new DomainError("ORDER_NOT_FOUND", `No order ${request.orderId}`);
      if (actor.role !== "ADMIN" && order.userId !== actor.userId) {
        throw new DomainError("FORBIDDEN", "Only the order's buyer or an admin may refund it");
      }
      if (!statuses.includes(order.status) || !order.paymentId) {
        throw new DomainError("ORDER_NOT_REFUNDABLE", `An order that is ${order.status} cannot be refunded`);
      }
      const remainder = order.paidAmount - order.refundedAmount - order.refundPendingAmount;
      const amount = request.amount ?? remainder;
      if (amount > remainder || amount < 1) {
        throw new DomainError(
          "REFUND_EXCEEDS_PAID",
          remainder === 0
            ? "Nothing is left to refund on this order (refunds in progress hold the rest)"
            : `At most ${remainder} KRW of this order can still be refunded`,
          [{ path: "amount", message: `must be from 1 to ${remainder}` }],
          { refundable: remainder },
        );
      }
      await this.deps.orders.holdRefund(order.id, amount);
      return this.deps.refunds.create({
        id: this.deps.newId(),
        orderId: order.id,
        paymentId: order.paymentId,
        userId: order.userId,
        amount,
        reason: request.reason,
      });
    });
  }

  async #attempt(refundId: string): Promise<Refund> {
    const claimed = await this.deps.refunds.claim(refundId, REFUND_LEASE_SECONDS);
    if (!claimed) return (await this.deps.refunds.find(refundId)) as Refund;
    return this.#tryClaimed(claimed);
  }

  async #try(refundId: string): Promise<Refund> {
    return this.#tryClaimed((await this.deps.refunds.find(refundId)) as Refund);
  }

  async #tryClaimed(refund: Refund): Promise<Refund> {
    const refunded = await this.deps.gateway
      .refund({ refundId: refund.id, paymentId: refund.paymentId, amount: refund.amount })
      .catch(() => false);
    if (!refunded) return this.#failed(refund, "the gateway did not confirm the refund");
    try {
      return await this.#land(refund);
    } catch (error) {
      // The gateway refunded but the books cannot take it (a balance at its cap, say): retried like a
      // gateway failure (the gateway answers a retry idempotently), then left to a person with an alert.
      const reason = error instanceof DomainError ? `${error.code}: ${error.message}` : String(error);
      return this.#failed(refund, `the refund could not be credited: ${reason}`);
    }
  }

  /** REFUNDED, the balance credited, the order's books moved, and a full refund cancels the order. */
  async #land(refund: Refund): Promise<Refund> {
    return this.deps.unitOfWork.withTransaction(async () => {
      const landed = await this.deps.refunds.settle(refund.id, "REFUNDED");
      if (!landed) return (await this.deps.refunds.find(refund.id)) as Refund;
      await this.deps.balances.applyChange(refund.userId, refund.amount, "REFUND", refund.id);
      const order = await this.deps.orders.settleRefund(refund.orderId, refund.amount);
      await this.deps.outbox.append("order", {
        aggregateId: order.id,
        type: "REFUND_COMPLETED",
        payload: { ...toRefundView(landed), refundedAmount: order.refundedAmount, paidAmount: order.paidAmount },
      });
      const cancelled =
        order.refundedAmount === order.paidAmount ? await this.deps.orders.cancelRefunded(order.id) : undefined;
      if (cancelled) {
        await this.deps.stock.restock(cancelled.items);
        if (cancelled.couponApplied) await this.deps.coupons.restoreForOrder(cancelled.id);
        await this.deps.outbox.append("order", {
          aggregateId: cancelled.id,
          type: "ORDER_CANCELLED",
          payload: toOrderView(cancelled),
        });
      }
      // After the restock, as payments do it: product rows first, then the sales rows (one lock order).
      await this.deps.onRefunded?.(order, refund.amount, cancelled !== undefined);
      this.deps.observer?.outcome("refunded");
      return landed;
    });
  }

  async #failed(refund: Refund, error: string): Promise<Refund> {
    if (refund.attempts >= this.deps.maxAttempts) {
      const manual = await this.deps.refunds.settle(refund.id, "MANUAL", { lastError: error });
      if (!manual) return (await this.deps.refunds.find(refund.id)) as Refund;
      this.deps.observer?.outcome("manual");
      await this.deps.alerts.raise({
        kind: "REFUND_MANUAL",
        summary: `refund ${refund.id} failed ${refund.attempts} times and needs a person`,
        details: { refundId: refund.id, orderId: refund.orderId, amount: refund.amount, lastError: error },
      });
      return manual;
    }
    const failed = await this.deps.refunds.settle(refund.id, "FAILED", {
      lastError: error,
      retryInMs: retryDelayMs(refund.attempts, this.deps.retryBaseDelayMs),
    });
    this.deps.observer?.outcome("failed");
    return failed ?? ((await this.deps.refunds.find(refund.id)) as Refund);
  }
}

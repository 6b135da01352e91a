import type { BalanceService } from "../balances/balance-service";
import type { StockService } from "../catalogue/stock-service";
import type { Order } from "../orders/order";
import type { OrderRepository } from "../orders/ports";
import type { OutboxWriter } from "../outbox/ports";
import { DomainError } from "../shared/errors";
import type { UnitOfWork } from "../shared/unit-of-work";
import type { Actor } from "../users/user";
import { type Payment, type PaymentView, toPaymentView } from "./payment";
import { isFinal, type PaymentStatus } from "./payment-status";
import type { GatewayCharge, GatewayLookup, PaymentGateway, PaymentRepository } from "./ports";

/** How soon a payment whose outcome is unknown is asked about again (the contract: within 30 s). */
export const RECHECK_SECONDS = 10;

export type PaymentOutcome = "completed" | "declined" | "insufficient_balance" | "unknown" | "refused" | "abandoned";

export interface PaymentObserver {
  outcome(outcome: PaymentOutcome): void;
}

/** What a payment request ends as: the payment and the HTTP status that says how it stands. */
export interface PaymentResult {
  payment: PaymentView;
  /** 200 final, 202 outcome not known yet. */
  status: 200 | 202;
}

interface PaymentServiceDeps {
  payments: PaymentRepository;
  orders: OrderRepository;
  balances: Pick<BalanceService, "applyChange">;
  stock: StockService;
  outbox: OutboxWriter;
  gateway: PaymentGateway;
  unitOfWork: UnitOfWork;
  newId: () => string;
  observer?: PaymentObserver;
  /** Extra work in the transaction that completes a payment (sales statistics). */
  onCompleted?: (order: Order) => Promise<void>;
}

/** A refusal decided inside a transaction that must still commit (a FAILED payment is recorded, then it is said). */
class Refusal {
  constructor(readonly error: DomainError) {}
}

/**
 * Paying an order from the buyer's prepaid balance and the payment gateway. The steps commit as they go:
 * INITIATED + VALIDATING, then LOCK_ACQUIRED + DEBITED + GATEWAY_REQUESTED together (the order held, the
 * balance debited, the intent to ask the gateway recorded: all or nothing), then the gateway is asked, then
 * COMPLETED (order CONFIRMED, reserved units sold, PAYMENT_COMPLETED) or FAILED (balance restored) in one
 * transaction. An unknown outcome stays GATEWAY_REQUESTED for confirm() or the recovery job. At most one
 * payment holds an order (partial unique index, and the hold on the order row), so an order is never paid
 * twice, and a held order can neither be cancelled nor expire.
 */
export class PaymentService {
  constructor(private readonly deps: PaymentServiceDeps) {}

  async process(actor: Actor, orderId: string): Promise<PaymentResult> {
    const order = await this.#order(orderId);
    if (actor.role !== "ADMIN" && order.userId !== actor.userId) {
      throw new DomainError("FORBIDDEN", "Only the order's buyer may pay for it");
    }
    if (order.status !== "CREATED") throw notPayable(order);
    if (order.paymentId) throw new DomainError("PAYMENT_IN_PROGRESS", "A payment of this order is already in flight");

    const started = await this.deps.unitOfWork.withTransaction(async () => {
      const created = await this.deps.payments.create({
        id: this.deps.newId(),
        orderId,
        userId: order.userId,
        amount: order.totalAmount,
      });
      if (!created) return undefined;
      return this.deps.payments.move(created.id, "VALIDATING");
    });
    if (!started) throw await this.#alreadyHeld(orderId);

    const held = await this.#holdAndDebit(started, order);
    if (held instanceof Refusal) {
      this.deps.observer?.outcome(held.error.code === "INSUFFICIENT_BALANCE" ? "insufficient_balance" : "refused");
      throw held.error;
    }

    const charge = await this.deps.gateway.charge({ paymentId: held.id, orderId, amount: held.amount });
    const settled = await this.#settle(held.id, charge);
    if (settled.status === "FAILED") {
      throw new DomainError(
        "PAYMENT_DECLINED",
        `The gateway declined the payment: ${settled.failureReason}`,
        undefined,
        {
          paymentId: settled.id,
        },
      );
    }
    return result(settled);
  }

  /** Asks the gateway about a payment whose outcome is unknown and settles it; final payments are returned as they are. */
  async confirm(actor: Actor, paymentId: string): Promise<PaymentResult> {
    const payment = await this.#visible(actor, paymentId);
    if (payment.status !== "GATEWAY_REQUESTED") return result(payment);
    return result(await this.#settle(payment.id, await this.deps.gateway.lookup(payment.id)));
  }

  async get(actor: Actor, paymentId: string): Promise<PaymentView> {
    return toPaymentView(await this.#visible(actor, paymentId));
  }

  /**
   * The recovery job: settles payments whose outcome is unknown (each claimed with SKIP LOCKED and its next
   * check pushed ahead, so instances never ask about one payment at once, and a payment still PENDING is
   * asked again within 30 s), and fails attempts that died before they reached the gateway (nothing was
   * debited: the debit commits with GATEWAY_REQUESTED).
   */
  async recover(limit = 50): Promise<{ settled: number; abandoned: number }> {
    let settled = 0;
    const due = await this.deps.unitOfWork.withTransaction(() =>
      this.deps.payments.claimDueChecks(limit, RECHECK_SECONDS),
    );
    for (const paymentId of due) {
      const after = await this.#settle(paymentId, await this.deps.gateway.lookup(paymentId));
      if (isFinal(after.status)) settled++;
    }
    let abandoned = 0;
    for (const paymentId of await this.deps.payments.findAbandoned(60, limit)) {
      // Only from before the debit: a payment that moved on meanwhile is not abandoned.
      const abandonedPayment = await this.deps.payments.move(paymentId, "FAILED", {
        from: ["INITIATED", "VALIDATING"],
        failureReason: "ABANDONED",
      });
      if (abandonedPayment) {
        abandoned++;
        this.deps.observer?.outcome("abandoned");
      }
    }
    return { settled, abandoned };
  }

  /**
   * LOCK_ACQUIRED, DEBITED and GATEWAY_REQUESTED in one transaction. A refusal (the order moved on, or the
   * balance is short) is recorded as FAILED in that same transaction, with nothing debited and the order let go.
   */
  async #holdAndDebit(payment: Payment, order: Order): Promise<Payment | Refusal> {
    return this.deps.unitOfWork.withTransaction(async () => {
      if (!(await this.deps.orders.holdForPayment(order.id, payment.id))) {
        const current = (await this.deps.orders.find(order.id)) ?? order;
        const reason = current.status === "CREATED" && current.paymentId ? "PAYMENT_IN_PROGRESS" : "ORDER_NOT_PAYABLE";
        await this.#step(payment.id, "FAILED", { from: ["VALIDATING"], failureReason: reason });
        return new Refusal(
          reason === "PAYMENT_IN_PROGRESS"
            ? new DomainError("PAYMENT_IN_PROGRESS", "A payment of this order is already in flight")
            : notPayable(current),
        );
      }
      await this.#step(payment.id, "LOCK_ACQUIRED");
      try {
        // Refused before it writes anything (the balance is checked first), so the transaction goes on.
        await this.deps.balances.applyChange(payment.userId, -payment.amount, "PAYMENT", payment.id);
      } catch (error) {
        if (!(error instanceof DomainError) || error.code !== "INSUFFICIENT_BALANCE") throw error;
        await this.deps.orders.releasePaymentHold(order.id, payment.id);
        await this.#step(payment.id, "FAILED", { from: ["LOCK_ACQUIRED"], failureReason: "INSUFFICIENT_BALANCE" });
        return new Refusal(
          new DomainError("INSUFFICIENT_BALANCE", error.message, undefined, { paymentId: payment.id }),
        );
      }
      await this.#step(payment.id, "DEBITED");
      return this.#step(payment.id, "GATEWAY_REQUESTED", { nextCheckInSeconds: RECHECK_SECONDS });
    });
  }

  /** Applies what the gateway said; the conditional move makes a second settler (confirm, the job) a no-op. */
  async #settle(paymentId: string, answer: GatewayCharge | GatewayLookup): Promise<Payment> {
    if (answer.status === "APPROVED") return this.#complete(paymentId, answer.transactionId);
    if (answer.status === "DECLINED" || answer.status === "NOT_FOUND") {
      const reason = answer.status === "NOT_FOUND" ? "NOT_RECEIVED_BY_GATEWAY" : (answer.reason ?? "DECLINED");
      return this.#fail(paymentId, reason);
    }
    this.deps.observer?.outcome("unknown");
    return (await this.deps.payments.find(paymentId)) as Payment;
  }

  async #complete(paymentId: string, transactionId: string): Promise<Payment> {
    return this.deps.unitOfWork.withTransaction(async () => {
      const completed = await this.deps.payments.move(paymentId, "COMPLETED", { gatewayTransactionId: transactionId });
      if (!completed) return (await this.deps.payments.find(paymentId)) as Payment;
      const order = await this.deps.orders.confirmPaid(completed.orderId, completed.id, completed.amount);
      // The hold guarantees this: nothing else may move a held order.
      if (!order) throw new Error(`order ${completed.orderId} was not held by payment ${completed.id}`);
      await this.deps.stock.sell(order.items);
      await this.deps.onCompleted?.(order);
      await this.deps.outbox.append("order", {
        aggregateId: order.id,
        type: "PAYMENT_COMPLETED",
        payload: { ...toPaymentView(completed), orderStatus: order.status },
      });
      this.deps.observer?.outcome("completed");
      return completed;
    });
  }

  async #fail(paymentId: string, reason: string): Promise<Payment> {
    return this.deps.unitOfWork.withTransaction(async () => {
      // Only a payment that reached the gateway step was debited: only such a payment is restored here.
      const failed = await this.deps.payments.move(paymentId, "FAILED", {
        from: ["GATEWAY_REQUESTED"],
        failureReason: reason,
      });
      if (!failed) return (await this.deps.payments.find(paymentId)) as Payment;
      await this.deps.balances.applyChange(failed.userId, failed.amount, "REFUND", failed.id);
      await this.deps.orders.releasePaymentHold(failed.orderId, failed.id);
      this.deps.observer?.outcome("declined");
      return failed;
    });
  }

  /**
   * One step of the attempt under way; if the payment is not where this attempt left it (the recovery job
   * took it for abandoned), the whole transaction rolls back: nothing is held, nothing debited.
   */
  async #step(id: string, to: PaymentStatus, fields?: Parameters<PaymentRepository["move"]>[2]): Promise<Payment> {
    const moved = await this.deps.payments.move(id, to, fields);
    if (!moved) throw new Error(`payment ${id} was moved by someone else before ${to}; attempt abandoned`);
    return moved;
  }

  async #alreadyHeld(orderId: string): Promise<DomainError> {
    const holding = await this.deps.payments.findHolding(orderId);
    return holding?.status === "COMPLETED"
      ? new DomainError("ORDER_NOT_PAYABLE", "The order is already paid")
      : new DomainError("PAYMENT_IN_PROGRESS", "A payment of this order is already in flight");
  }

  async #visible(actor: Actor, paymentId: string): Promise<Payment> {
    const payment = await this.deps.payments.find(paymentId);
    if (!payment) throw new DomainError("PAYMENT_NOT_FOUND", `No payment ${paymentId}`);
    if (actor.role !== "ADMIN" && payment.userId !== actor.userId) {
      throw new DomainError("FORBIDDEN", "This payment is not yours");
    }
    return payment;
  }

  async #order(orderId: string): Promise<Order> {
    const order = await this.deps.orders.find(orderId);
    if (!order) throw new DomainError("ORDER_NOT_FOUND", `No order ${orderId}`);
    return order;
  }
}

const result = (payment: Payment): PaymentResult => ({
  payment: toPaymentView(payment),
  status: isFinal(payment.status) ? 200 : 202,
});

function notPayable(order: Order): DomainError {
  return new DomainError(
    "ORDER_NOT_PAYABLE",
    order.status === "CREATED"
      ? "The order's time to pay has run out"
      : `An order that is ${order.status} cannot be paid`,
  );
}

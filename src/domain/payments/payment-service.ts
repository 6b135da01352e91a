import type { BalanceService } from "../balances/balance-service";
import type { StockService } from "../catalogue/stock-service";
import type { Order } from "../orders/order";
import type { OrderRepository } from "../orders/ports";
import type { Alerts } from "../shared/alerts";
import type { Clock } from "../shared/clock";
import { DomainError } from "../shared/errors";
import type { UnitOfWork } from "../shared/unit-of-work";
import { assertOwnerOrAdmin } from "../users/access";
import type { Actor } from "../users/user";
import { answersItsRequest, type Payment, type PaymentView, toPaymentView } from "./payment";
import type { PaymentReconciliation } from "./payment-reconciliation";
import { PAYMENT_MACHINE, PAYMENT_MOVES } from "./payment-status";
import type { GatewayCharge, GatewayLookup, PaymentGateway, PaymentRepository } from "./ports";

/** How long a payment may sit before the gateway step (its process died) before it is taken for abandoned. */
export const ABANDON_BEFORE_GATEWAY_SECONDS = 60;

/** The failure reason of a payment the gateway said it never received once its send window had closed. */
export const NOT_RECEIVED = "NOT_RECEIVED_BY_GATEWAY";

export type PaymentOutcome = "completed" | "declined" | "insufficient_balance" | "unknown" | "refused" | "abandoned";

export interface PaymentObserver {
  outcome(outcome: PaymentOutcome): void;
}

/** What a payment request ends as: the payment and whether its outcome is known. */
export interface PaymentResult {
  payment: PaymentView;
  /** settled: the payment is final (COMPLETED or FAILED); pending: the gateway's answer is not known yet. */
  outcome: "settled" | "pending";
  /** With a pending outcome: when asking again may tell more. */
  retryAfterSeconds?: number;
}

/**
 * Failures of a keyed attempt that answered a refusal made before any effect (not kept for the key), or that
 * died before the debit: a retry with the key decides afresh with a new attempt instead of answering from them.
 */
const RETRIED_AFRESH = new Set(["ABANDONED", "ORDER_NOT_PAYABLE", "PAYMENT_IN_PROGRESS"]);

/** The timing rules of the charge's send window and the recovery job (validated together in the config). */
export interface PaymentTimings {
  /** PAYMENT_GATEWAY_TIMEOUT_MS: how long a charge POST or a lookup may take. */
  gatewayTimeoutMs: number;
  /** PAYMENT_ABANDON_AFTER_MS: the send window, from GATEWAY_REQUESTED to the moment a gateway 404 is final. */
  abandonAfterMs: number;
  /** PAYMENT_RECHECK_SECONDS: the next check of an unknown outcome, and the recovery job's claim on it. */
  recheckSeconds: number;
}

interface PaymentServiceDeps {
  payments: PaymentRepository;
  orders: OrderRepository;
  balances: Pick<BalanceService, "applyChange">;
  stock: Pick<StockService, "movedElsewhere">;
  gateway: PaymentGateway;
  unitOfWork: UnitOfWork;
  newId: () => string;
  clock: Clock;
  timings: PaymentTimings;
  alerts: Alerts;
  /** Asks the gateway about the orders the recovery job met, and alerts on what disagrees. */
  reconciliation?: Pick<PaymentReconciliation, "reconcile" | "alert">;
  observer?: PaymentObserver;
}

/** A refusal decided inside a transaction that must still commit (a FAILED payment is recorded, then it is said). */
class Refusal {
  constructor(readonly error: DomainError) {}
}

/**
 * Paying an order from the buyer's prepaid balance and the payment gateway, in two commits: every step before
 * the gateway together (INITIATED, VALIDATING, the order held, the balance debited, LOCK_ACQUIRED, DEBITED and
 * GATEWAY_REQUESTED, each with its history row: all or nothing, and all persisted before the gateway is asked),
 * then the gateway is asked, then COMPLETED (order CONFIRMED, reserved units sold, PAYMENT_COMPLETED) or FAILED
 * (balance restored) in one transaction. An unknown outcome stays GATEWAY_REQUESTED for confirm() or the
 * recovery job. At most one payment holds an order (partial unique index, and the hold on the order row), so
 * an order is never paid twice, and a held order can neither be cancelled nor expire.
 */
export class PaymentService {
  constructor(private readonly deps: PaymentServiceDeps) {}

  /**
   * POST /payments/process. With an Idempotency-Key the payment carries the key: a retry of the request whose
   * stored answer was lost (a 5xx after the commit released the key, or the process died) answers from the
   * payment the first one made, finishing it if the gateway has spoken, instead of a 409 or a second attempt.
   */
  async process(actor: Actor, orderId: string, idempotencyKey?: string): Promise<PaymentResult> {
    // One read: the order, and the payment this request's key already made (before the order is even looked at);
    // for a keyed request, also the key's own row, decided before anything here runs (UnitOfWork.withKeyLookAhead).
    const { order, earlier } = await this.deps.payments.findOrderAndRequest(
      orderId,
      idempotencyKey === undefined ? undefined : { requestedBy: actor.userId, idempotencyKey },
    );
    if (earlier && !RETRIED_AFRESH.has(earlier.failureReason ?? "")) return this.#answerFrom(earlier, orderId);
    if (!order) throw new DomainError("ORDER_NOT_FOUND", `No order ${orderId}`);
    assertOwnerOrAdmin(actor, order.userId, "Only the order's buyer may pay for it");
    if (order.status !== "CREATED") throw notPayable(order);
    if (order.paymentId) throw new DomainError("PAYMENT_IN_PROGRESS", "A payment of this order is already in flight");

    // Taken before the window is recorded (in the database's clock, a moment later), so a POST cut off at
    // `sendBy` ends at least half the margin before the window closes, however long the commit took.
    const holdStarted = this.deps.clock.now().getTime();
    const held = await this.#start(
      order,
      idempotencyKey === undefined ? {} : { requestedBy: actor.userId, idempotencyKey },
    );
    if (held === undefined) throw await this.#alreadyHeld(orderId);
    if (held instanceof Refusal) {
      this.deps.observer?.outcome(held.error.code === "INSUFFICIENT_BALANCE" ? "insufficient_balance" : "refused");
      throw held.error;
    }
    const sendBy = this.#sendBy(holdStarted);

    const charge = await this.deps.gateway.charge({ paymentId: held.id, orderId, amount: held.amount }, sendBy);
    const settled = await this.#settle(held.id, charge);
    if (settled.status === "FAILED") throw declined(settled);
    return this.#withRetryAfter(settled);
  }

  /**
   * The payment a keyed request completed, if it did: the answer a replay of that request gets (its key keeps
   * no copy of it, see idempotentAcrossCommits). Undefined while it is under way, and for one that failed.
   */
  async completedByRequest(actor: Actor, idempotencyKey: string): Promise<PaymentView | undefined> {
    const payment = await this.deps.payments.findByRequest(actor.userId, idempotencyKey);
    return payment && answersItsRequest(payment) ? toPaymentView(payment) : undefined;
  }

  /** A keyed request's retry: the answer the first attempt gave, or would give now that the gateway has spoken. */
  async #answerFrom(earlier: Payment, orderId: string): Promise<PaymentResult> {
    if (earlier.orderId !== orderId) {
      // Only once the key's stored answer is gone (24 h): within them the middleware compares the bodies.
      throw new DomainError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used to pay another order");
    }
    const payment =
      earlier.status === "GATEWAY_REQUESTED"
        ? await this.#settle(earlier.id, await this.deps.gateway.lookup(earlier.id))
        : earlier;
    if (payment.status === "FAILED") {
      if (payment.failureReason !== "INSUFFICIENT_BALANCE") throw declined(payment);
      throw new DomainError("INSUFFICIENT_BALANCE", "The balance was too low for this payment", undefined, {
        paymentId: payment.id,
      });
    }
    if (!PAYMENT_MACHINE.isFinal(payment.status) && payment.status !== "GATEWAY_REQUESTED") {
      // Before the gateway step: the first attempt is still running, or died there (the job fails it as
      // ABANDONED, nothing debited, and the key's next retry then tries afresh). A refusal: not kept for the key.
      throw new DomainError("PAYMENT_IN_PROGRESS", "This request's payment is still under way", undefined, {
        paymentId: payment.id,
      });
    }
    return result(payment);
  }

  /** Asks the gateway about a payment whose outcome is unknown and settles it; final payments are returned as they are. */
  async confirm(actor: Actor, paymentId: string): Promise<PaymentResult> {
    const payment = await this.#visible(actor, paymentId);
    if (payment.status !== "GATEWAY_REQUESTED") return result(payment);
    return this.#withRetryAfter(await this.#settle(payment.id, await this.deps.gateway.lookup(payment.id)));
  }

  /**
   * A payment's answer; while its outcome is unknown, with when asking again may tell more. A pending answer is
   * not final, and the Retry-After it carries keeps the idempotency layer from storing it as the key's answer.
   */
  #withRetryAfter(payment: Payment): PaymentResult {
    const answer = result(payment);
    return answer.outcome === "settled" ? answer : { ...answer, retryAfterSeconds: this.#retryAfter(payment) };
  }

  async get(actor: Actor, paymentId: string): Promise<PaymentView> {
    return toPaymentView(await this.#visible(actor, paymentId));
  }

  /**
   * The recovery job: settles payments whose outcome is unknown (each claimed with SKIP LOCKED and its next
   * check pushed ahead, so instances never ask about one payment at once, and a payment still PENDING is
   * asked again within 30 s; a 404 is final only past the charge's send window), looks once more at payments
   * it failed as never received (alerting if the gateway approved them after all), and fails attempts that
   * died before they reached the gateway (nothing was debited: the debit commits with GATEWAY_REQUESTED).
   */
  async recover(limit = 50): Promise<{ settled: number; abandoned: number }> {
    const due = await this.deps.unitOfWork.withTransaction(() =>
      this.deps.payments.claimDueChecks(limit, this.deps.timings.recheckSeconds),
    );
    // Asked side by side, so the whole batch ends within one gateway timeout: well inside its claim. One
    // payment that cannot be settled (it is reported after the rest) does not hold up the others.
    const outcomes = await Promise.allSettled(
      due.map(async (paymentId) =>
        PAYMENT_MACHINE.isFinal((await this.#settle(paymentId, await this.deps.gateway.lookup(paymentId))).status),
      ),
    );
    const settled = outcomes.filter((outcome) => outcome.status === "fulfilled" && outcome.value).length;
    await this.#lookAgainAtNotReceived(limit);
    let abandoned = 0;
    for (const paymentId of await this.deps.payments.findAbandoned(ABANDON_BEFORE_GATEWAY_SECONDS, limit)) {
      // Only from before the debit: a payment that moved on meanwhile is not abandoned.
      const abandonedPayment = await this.deps.payments.move(paymentId, "FAILED", {
        from: PAYMENT_MOVES.abandon.from,
        failureReason: "ABANDONED",
      });
      if (abandonedPayment) {
        abandoned++;
        this.deps.observer?.outcome("abandoned");
      }
    }
    const failure = outcomes.find((outcome) => outcome.status === "rejected");
    if (failure) throw failure.reason;
    return { settled, abandoned };
  }

  /**
   * One more look at payments failed as "never received" a window ago, with every other payment of their
   * orders: a charge that landed after all (the gateway APPROVED what is FAILED here), or a second approved
   * charge for the order, raises an alert (a person refunds it at the gateway, or reinstates it here).
   */
  async #lookAgainAtNotReceived(limit: number): Promise<void> {
    const { reconciliation } = this.deps;
    const due = await this.deps.unitOfWork.withTransaction(() => this.deps.payments.claimDueVerifications(limit));
    const orderIds = [
      ...new Set(due.filter((p) => p.failureReason === NOT_RECEIVED).map((payment) => payment.orderId)),
    ];
    if (!reconciliation || orderIds.length === 0) return;
    const report = await reconciliation.reconcile({ orderIds });
    await reconciliation.alert(report.disagreements.filter((d) => d.kind !== "COMPLETED_NOT_APPROVED"));
  }

  /**
   * Every step before the gateway in one transaction, one commit, one statement (PaymentRepository.start; the
   * Idempotency-Key's claim, if any, is the transaction's first): INITIATED and VALIDATING, the order held,
   * LOCK_ACQUIRED, the balance debited with its ledger row, DEBITED and GATEWAY_REQUESTED, each with its history
   * row. Nothing outside the database happens between these steps, so committing them together loses nothing a
   * crash could need: either all of them are there before the gateway is asked, or none (no payment, no hold,
   * no debit). A refusal (the order moved on, or the balance is short) is recorded as FAILED by that same
   * statement, with the steps it took, nothing debited and the order not held. Undefined when another payment
   * holds the order.
   */
  async #start(
    order: Order,
    request: { requestedBy?: string; idempotencyKey?: string },
  ): Promise<Payment | Refusal | undefined> {
    // The request's opening step (its Idempotency-Key's claim) is taken into the start's own statement, which is
    // then the whole transaction: sent on its own, it commits by itself (no BEGIN, no COMMIT round trip).
    return this.deps.unitOfWork.withStatementTaking(async (opening) => {
      const key = opening?.claim;
      if (opening && !key) await opening.run();
      const started = await this.deps.payments.start(
        { id: this.deps.newId(), orderId: order.id, userId: order.userId, amount: order.totalAmount, ...request },
        {
          ledgerEntryId: this.deps.newId(),
          // The send window opens before the POST leaves: whoever later hears "404" knows until when it may lie.
          nextCheckInSeconds: this.deps.timings.recheckSeconds,
          chargeWindowMs: this.deps.timings.abandonAfterMs,
        },
        key?.terms(),
      );
      // Throws (409, the transaction rolls back) when another request holds the key.
      key?.settle(started.kind !== "key in use");
      switch (started.kind) {
        case "requested":
          return started.payment;
        case "held by another":
        case "key in use":
          return undefined;
        case "no balance":
          throw new DomainError("USER_NOT_FOUND", `No user ${order.userId}`);
        case "no order":
          throw new Error(`order ${order.id} vanished before its payment started`);
        case "order not payable":
          return new Refusal(notPayable({ ...order, status: started.orderStatus }));
        case "insufficient balance":
          return new Refusal(
            new DomainError(
              "INSUFFICIENT_BALANCE",
              `Balance ${started.balance} KRW is less than ${order.totalAmount} KRW`,
              undefined,
              { paymentId: started.payment.id },
            ),
          );
      }
    });
  }

  /**
   * Applies what the gateway said; the conditional move makes a second settler (confirm, the job) a no-op.
   * A 404 fails the payment only once its send window has closed (checked in the failing statement): until
   * then our own charge POST may still reach the gateway, and the payment waits like a PENDING one.
   */
  async #settle(paymentId: string, answer: GatewayCharge | GatewayLookup): Promise<Payment> {
    if (answer.status === "APPROVED") return this.#complete(paymentId, answer.transactionId);
    if (answer.status === "DECLINED") return this.#fail(paymentId, answer.reason ?? "DECLINED");
    if (answer.status === "NOT_FOUND") return this.#fail(paymentId, NOT_RECEIVED, true);
    this.deps.observer?.outcome("unknown");
    return (await this.deps.payments.find(paymentId)) as Payment;
  }

  async #complete(paymentId: string, transactionId: string): Promise<Payment> {
    // COMPLETED, the order confirmed, its units sold, its sales added to the rollup and PAYMENT_COMPLETED written,
    // in one statement that is the whole transaction: sent on its own, it commits by itself, and a hot product's
    // row is held for that one statement and its commit (docs/checkout-performance.md).
    const done = await this.deps.unitOfWork.withStatement(async () => {
      const completed = await this.deps.payments.complete(paymentId, transactionId, this.deps.newId());
      if (completed) await this.deps.stock.movedElsewhere(completed.sold);
      return completed;
    });
    if (done) this.deps.observer?.outcome("completed");
    const settled = done?.payment ?? ((await this.deps.payments.find(paymentId)) as Payment);
    if (settled.status === "FAILED") {
      // The gateway holds money our books gave back: a person must refund it there (or reinstate it here).
      await this.deps.alerts.raise({
        kind: "PAYMENT_APPROVED_NOT_COMPLETED",
        summary: `The gateway approved payment ${paymentId}, which is FAILED here`,
        details: { paymentId, orderId: settled.orderId, transactionId, failureReason: settled.failureReason },
      });
    }
    return settled;
  }

  async #fail(paymentId: string, reason: string, notReceived = false): Promise<Payment> {
    return this.deps.unitOfWork.withTransaction(async () => {
      // Only a payment that reached the gateway step was debited: only such a payment is restored here.
      const failed = await this.deps.payments.move(paymentId, "FAILED", {
        from: ["GATEWAY_REQUESTED"],
        failureReason: reason,
        onlyAfterChargeWindow: notReceived,
        // "Never received" is a conclusion: the job looks once more, a window later, and alerts if it was wrong.
        ...(notReceived ? { nextCheckInSeconds: Math.ceil(this.deps.timings.abandonAfterMs / 1000) } : {}),
      });
      if (!failed) return (await this.deps.payments.find(paymentId)) as Payment;
      // A REVERSAL of the payment's own debit: the buyer's statement shows a charge that never happened undone.
      await this.deps.balances.applyChange(failed.userId, failed.amount, "REVERSAL", failed.id);
      await this.deps.orders.releasePaymentHold(failed.orderId, failed.id);
      this.deps.observer?.outcome("declined");
      return failed;
    });
  }

  /**
   * When the charge POST must have ended: its full timeout from now, unless the transaction that opened the
   * window took so long that it would then end less than half the window's margin before the window closes.
   */
  #sendBy(holdStarted: number): number {
    const { gatewayTimeoutMs, abandonAfterMs } = this.deps.timings;
    const latest = holdStarted + gatewayTimeoutMs + (abandonAfterMs - gatewayTimeoutMs) / 2;
    return Math.min(this.deps.clock.now().getTime() + gatewayTimeoutMs, latest);
  }

  /** Seconds until asking again may tell more: the window's end while it is open, else the next check. */
  #retryAfter(payment: Payment): number {
    const untilWindowEnds = (payment.chargeWindowEndsAt?.getTime() ?? 0) - this.deps.clock.now().getTime();
    const { recheckSeconds } = this.deps.timings;
    const seconds = untilWindowEnds > 0 ? Math.min(untilWindowEnds / 1000, recheckSeconds) : recheckSeconds;
    return Math.max(1, Math.ceil(seconds));
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
    assertOwnerOrAdmin(actor, payment.userId, "This payment is not yours");
    return payment;
  }
}

const result = (payment: Payment): PaymentResult => ({
  payment: toPaymentView(payment),
  outcome: PAYMENT_MACHINE.isFinal(payment.status) ? "settled" : "pending",
});

function declined(payment: Payment): DomainError {
  return new DomainError("PAYMENT_DECLINED", `The gateway declined the payment: ${payment.failureReason}`, undefined, {
    paymentId: payment.id,
  });
}

function notPayable(order: Order): DomainError {
  return new DomainError(
    "ORDER_NOT_PAYABLE",
    order.status === "CREATED"
      ? "The order's time to pay has run out"
      : `An order that is ${order.status} cannot be paid`,
  );
}

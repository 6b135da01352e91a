import type { Product } from "../catalogue/product";
import type { Claim, IdempotencyScope } from "../idempotency/ports";
import type { Order } from "../orders/order";
import type { OrderStatus } from "../orders/order-status";
import type { Payment } from "./payment";
import type { PaymentStatus } from "./payment-status";

/**
 * The payment gateway as the domain sees it (contract: "Payments"). Adapters: a simulated gateway when
 * PAYMENT_GATEWAY_URL is unset, an HTTP client otherwise.
 */
export type GatewayCharge =
  | { status: "APPROVED"; transactionId: string }
  | { status: "DECLINED"; reason: string }
  /** Timeout, 5xx or an unreadable answer: the money may or may not have moved. */
  | { status: "UNKNOWN"; reason: string };

export type GatewayLookup =
  | { status: "APPROVED"; transactionId: string }
  | { status: "DECLINED"; reason?: string }
  | { status: "PENDING" }
  /** The gateway never received the payment. */
  | { status: "NOT_FOUND" }
  /** The gateway could not be asked (timeout, 5xx, garbage): ask again later. */
  | { status: "UNKNOWN"; reason: string };

export interface PaymentGateway {
  /**
   * Idempotent per paymentId (sent as Idempotency-Key). `sendBy` (epoch ms) ends the POST: it is never started
   * after it and given up at it, so it cannot outlive the send window recorded before it (an UNKNOWN answer).
   */
  charge(request: { paymentId: string; orderId: string; amount: number }, sendBy: number): Promise<GatewayCharge>;
  lookup(paymentId: string): Promise<GatewayLookup>;
  /** Idempotent per refundId; false means "failed, retry later". */
  refund(request: { refundId: string; paymentId: string; amount: number }): Promise<boolean>;
}

export interface NewPayment {
  id: string;
  orderId: string;
  userId: string;
  amount: number;
  /** Who asked, and the Idempotency-Key of the request (if keyed): a retry of it finds this payment. */
  requestedBy?: string;
  idempotencyKey?: string;
}

/** What a payment's start needs besides the payment: its ledger row's id and the gateway step's timings. */
export interface StartTerms {
  ledgerEntryId: string;
  /** The recovery job's first check of the outcome, this long after GATEWAY_REQUESTED. */
  nextCheckInSeconds: number;
  /** The charge's send window closes this long after GATEWAY_REQUESTED. */
  chargeWindowMs: number;
}

/** How a payment's start ended (PaymentRepository.start). */
export type StartOutcome =
  /** The order held, the balance debited with its ledger row, the payment at GATEWAY_REQUESTED. */
  | { kind: "requested"; payment: Payment }
  /** FAILED as ORDER_NOT_PAYABLE (the order is no longer CREATED, or its time to pay ran out). */
  | { kind: "order not payable"; payment: Payment; orderStatus: OrderStatus }
  /** FAILED as INSUFFICIENT_BALANCE: `balance` was short of the amount; the order was not held. */
  | { kind: "insufficient balance"; payment: Payment; balance: number }
  /** Nothing written: another payment holds (or has paid) the order. */
  | { kind: "held by another" }
  /** Nothing written: the buyer has no balance row (the caller rolls back). */
  | { kind: "no balance" }
  /** Nothing written but the key's claim: the order is gone (orders are not deleted: cannot happen). */
  | { kind: "no order" }
  /** Nothing done: the Idempotency-Key it was to claim first is held by another request. */
  | { kind: "key in use" };

export interface PaymentRepository {
  /**
   * Every step of a payment before the gateway, in one statement: the order's row locked, then the buyer's
   * balance row, then the payment created along START_WALKS (one history row each): at GATEWAY_REQUESTED with the
   * order held and the balance debited, or FAILED with the steps it took, nothing held, nothing debited. Nothing
   * is written when another payment holds the order (or a holding payment exists: the partial unique index).
   * With `key`, the statement first claims the request's Idempotency-Key in flight (as
   * IdempotencyRepository.claim would: its lock tried, then its row), and does nothing else if it could not.
   */
  start(payment: NewPayment, terms: StartTerms, key?: { id: IdempotencyScope; claim: Claim }): Promise<StartOutcome>;
  find(id: string): Promise<Payment | undefined>;
  /** The newest payment a request with this Idempotency-Key (of this requester) made, if any. */
  findByRequest(requestedBy: string, idempotencyKey: string): Promise<Payment | undefined>;
  /**
   * What a payment request reads before it starts, in one statement (one snapshot): the order to pay and, for a
   * keyed request, the newest payment a request with its key already made (as findByRequest). A keyed request's
   * key look still to be made (UnitOfWork.withKeyLookAhead) is taken in by this read and settled with what it saw:
   * it throws the look's refusal (a replay, 422, 409) instead of returning.
   */
  findOrderAndRequest(
    orderId: string,
    request?: { requestedBy: string; idempotencyKey: string },
  ): Promise<{ order: Order | undefined; earlier: Payment | undefined }>;
  /** The payment in flight or completed for the order, if any. */
  findHolding(orderId: string): Promise<Payment | undefined>;
  /**
   * Moves the payment to `to` if it is in one of the statuses the machine allows `to` from (or only those of
   * them in `from`), writing the history row in the same statement; undefined when it was not (another step
   * or settler got there first). `to` may be a walk of several steps taken together (each a legal move from
   * the one before): one history row each, in order, the payment ending at the last.
   */
  move(
    id: string,
    to: PaymentStatus | readonly PaymentStatus[],
    fields?: {
      from?: readonly PaymentStatus[];
      failureReason?: string;
      gatewayTransactionId?: string;
      nextCheckInSeconds?: number;
      /** With GATEWAY_REQUESTED: the charge's send window closes this long from now. */
      chargeWindowMs?: number;
      /** Only if the charge's send window has closed (a gateway 404 is final only then). */
      onlyAfterChargeWindow?: boolean;
    },
  ): Promise<Payment | undefined>;
  /**
   * A payment's completion, in one statement: COMPLETED (as `move` to it would), the order it holds confirmed
   * (ORDER_MOVES.pay: CREATED → CONFIRMED, what was paid recorded), the order's reserved units sold, its sales added
   * to the daily rollup, and PAYMENT_COMPLETED (the payment as moved, with the order's status) written to the order
   * outbox as event `eventId`. Rows are locked payment, order, products (product-id order), rollup. Undefined when
   * the payment could not move (another settler got there first); it fails, writing nothing, when the payment
   * would move without its order confirmed or every unit sold. `sold`: the products whose stock moved.
   */
  complete(
    id: string,
    gatewayTransactionId: string,
    eventId: string,
  ): Promise<{ payment: Payment; sold: Pick<Product, "id" | "version" | "modelCode">[] } | undefined>;
  /**
   * GATEWAY_REQUESTED payments due for a check, their next check pushed `leaseSeconds` ahead in the same
   * statement (SKIP LOCKED): several instances never ask about one payment at once.
   */
  claimDueChecks(limit: number, leaseSeconds: number): Promise<string[]>;
  /**
   * FAILED payments due for one more look at the gateway (failed as never received: did the charge land after
   * all?); each is claimed once, its time cleared in the same statement (SKIP LOCKED).
   */
  claimDueVerifications(limit: number): Promise<{ id: string; orderId: string; failureReason: string | null }[]>;
  /** Payments stuck before the gateway step for longer than `olderThanSeconds` (their process died). */
  findAbandoned(olderThanSeconds: number, limit: number): Promise<string[]>;
}

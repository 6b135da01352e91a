import type { Order } from "../orders/order";
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

export interface PaymentRepository {
  /**
   * A new payment that has taken `steps` (INITIATED by default; a walk of the machine from INITIATED), one
   * history row each, in one statement; undefined when another payment already holds the order.
   */
  create(payment: NewPayment, steps?: readonly PaymentStatus[]): Promise<Payment | undefined>;
  find(id: string): Promise<Payment | undefined>;
  /** The newest payment a request with this Idempotency-Key (of this requester) made, if any. */
  findByRequest(requestedBy: string, idempotencyKey: string): Promise<Payment | undefined>;
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
   * COMPLETED (as `move` to it would) and, in the same statement, the order the payment holds confirmed
   * (ORDER_MOVES.pay: CREATED → CONFIRMED, what was paid recorded): the payment's row is locked first, then the
   * order's, the order every completion keeps. Undefined when the payment could not move; `order` undefined when
   * the payment moved but held no order that could be confirmed (the caller rolls back).
   */
  complete(
    id: string,
    gatewayTransactionId: string,
  ): Promise<{ payment: Payment; order: Order | undefined } | undefined>;
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

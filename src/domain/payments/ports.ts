/**
 * The payment gateway as the domain sees it (contract: "Payments"). Adapters: a simulated gateway when
 * PAYMENT_GATEWAY_URL is unset, an HTTP client otherwise. Only the shapes live here until payments land.
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
  | { status: "NOT_FOUND" };

export interface PaymentGateway {
  /** Idempotent per paymentId (sent as Idempotency-Key). */
  charge(request: { paymentId: string; orderId: string; amount: number }): Promise<GatewayCharge>;
  lookup(paymentId: string): Promise<GatewayLookup>;
  /** Idempotent per refundId; false means "failed, retry later". */
  refund(request: { refundId: string; paymentId: string; amount: number }): Promise<boolean>;
}

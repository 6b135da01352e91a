/**
 * Every stable error `code` of the contract with its HTTP status and title. The problem+json mapper and
 * the OpenAPI components are both built from this table, so the two cannot drift apart.
 */
export const errorCatalog = {
  VALIDATION_FAILED: { status: 400, title: "Validation failed" },
  MALFORMED_JSON: { status: 400, title: "Malformed JSON" },
  INVALID_PRODUCT: { status: 400, title: "Invalid product" },
  INSUFFICIENT_STOCK: { status: 400, title: "Insufficient stock" },
  BALANCE_LIMIT_EXCEEDED: { status: 400, title: "Balance limit exceeded" },
  REFUND_EXCEEDS_PAID: { status: 400, title: "Refund exceeds the paid amount" },
  RETURN_EXCEEDS_AWAITED: { status: 400, title: "Return exceeds the units awaited" },
  UNAUTHENTICATED: { status: 401, title: "Authentication required" },
  INVALID_CREDENTIALS: { status: 401, title: "Invalid credentials" },
  INSUFFICIENT_BALANCE: { status: 402, title: "Insufficient balance" },
  PAYMENT_DECLINED: { status: 402, title: "Payment declined" },
  FORBIDDEN: { status: 403, title: "Forbidden" },
  ROUTE_NOT_FOUND: { status: 404, title: "Route not found" },
  USER_NOT_FOUND: { status: 404, title: "User not found" },
  PRODUCT_NOT_FOUND: { status: 404, title: "Product not found" },
  MODEL_NOT_FOUND: { status: 404, title: "Model not found" },
  COUPON_NOT_FOUND: { status: 404, title: "Coupon not found" },
  ORDER_NOT_FOUND: { status: 404, title: "Order not found" },
  PAYMENT_NOT_FOUND: { status: 404, title: "Payment not found" },
  REFUND_NOT_FOUND: { status: 404, title: "Refund not found" },
  EVENT_NOT_FOUND: { status: 404, title: "Event not found" },
  METHOD_NOT_ALLOWED: { status: 405, title: "Method not allowed" },
  EMAIL_TAKEN: { status: 409, title: "Email already registered" },
  VERSION_CONFLICT: { status: 409, title: "Version conflict" },
  SKU_TAKEN: { status: 409, title: "SKU already on sale" },
  COUPON_CODE_TAKEN: { status: 409, title: "Coupon code taken" },
  COUPON_ALREADY_ISSUED: { status: 409, title: "Coupon already issued" },
  COUPON_SOLD_OUT: { status: 409, title: "Coupon sold out" },
  COUPON_NOT_ACTIVE: { status: 409, title: "Coupon not active" },
  INVALID_COUPON_TRANSITION: { status: 409, title: "Invalid coupon transition" },
  INVALID_ORDER_TRANSITION: { status: 409, title: "Invalid order transition" },
  ORDER_NOT_CANCELLABLE: { status: 409, title: "Order not cancellable" },
  ORDER_NOT_PAYABLE: { status: 409, title: "Order not payable" },
  PAYMENT_IN_PROGRESS: { status: 409, title: "Payment in progress" },
  ORDER_NOT_REFUNDABLE: { status: 409, title: "Order not refundable" },
  ORDER_NOT_RETURNABLE: { status: 409, title: "Order not returnable" },
  EVENT_NOT_RETRYABLE: { status: 409, title: "Event not retryable" },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, title: "Idempotency key in use" },
  PAYLOAD_TOO_LARGE: { status: 413, title: "Payload too large" },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: "Idempotency key reused" },
  RATE_LIMITED: { status: 429, title: "Too many requests" },
  INTERNAL: { status: 500, title: "Internal server error" },
  UNAVAILABLE: { status: 503, title: "Service unavailable" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export interface FieldError {
  path: string;
  message: string;
}

/** A rule of the shop was broken; routes turn it into problem+json, never into a 500. */
export class DomainError extends Error {
  override name = "DomainError";

  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly errors?: FieldError[],
    /** Extra members of the problem document (e.g. `paymentId` on 402). */
    readonly extensions?: Record<string, unknown>,
  ) {
    super(detail ?? errorCatalog[code].title);
  }

  get status(): number {
    return errorCatalog[this.code].status;
  }
}

export const validationFailed = (path: string, message: string) =>
  new DomainError("VALIDATION_FAILED", message, [{ path, message }]);

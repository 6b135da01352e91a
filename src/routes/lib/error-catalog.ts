import type { DomainErrorCode } from "../../domain/shared/errors";

interface ProblemKind {
  status: number;
  title: string;
}

/** How each rule the domain can report is answered over HTTP; `satisfies` keeps it total over the domain's codes. */
const DOMAIN_PROBLEMS = {
  VALIDATION_FAILED: { status: 400, title: "Validation failed" },
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
  USER_NOT_FOUND: { status: 404, title: "User not found" },
  PRODUCT_NOT_FOUND: { status: 404, title: "Product not found" },
  MODEL_NOT_FOUND: { status: 404, title: "Model not found" },
  COUPON_NOT_FOUND: { status: 404, title: "Coupon not found" },
  ORDER_NOT_FOUND: { status: 404, title: "Order not found" },
  PAYMENT_NOT_FOUND: { status: 404, title: "Payment not found" },
  REFUND_NOT_FOUND: { status: 404, title: "Refund not found" },
  EVENT_NOT_FOUND: { status: 404, title: "Event not found" },
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
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: "Idempotency key reused" },
  RATE_LIMITED: { status: 429, title: "Too many requests" },
  UNAVAILABLE: { status: 503, title: "Service unavailable" },
} as const satisfies Record<DomainErrorCode, ProblemKind>;

/** Codes only the HTTP layer produces: the request never reached a rule of the shop (or we failed). */
const HTTP_PROBLEMS = {
  MALFORMED_JSON: { status: 400, title: "Malformed JSON" },
  ROUTE_NOT_FOUND: { status: 404, title: "Route not found" },
  METHOD_NOT_ALLOWED: { status: 405, title: "Method not allowed" },
  PAYLOAD_TOO_LARGE: { status: 413, title: "Payload too large" },
  INTERNAL: { status: 500, title: "Internal server error" },
} as const satisfies Record<string, ProblemKind>;

/**
 * Every stable error `code` of the contract with its HTTP status and title. The problem+json mapper and the
 * OpenAPI components are both built from this table, so the two cannot drift apart.
 */
export const errorCatalog: Readonly<Record<ErrorCode, ProblemKind>> = { ...DOMAIN_PROBLEMS, ...HTTP_PROBLEMS };

export type ErrorCode = keyof typeof DOMAIN_PROBLEMS | keyof typeof HTTP_PROBLEMS;

export const HTTP_ONLY_CODES = Object.keys(HTTP_PROBLEMS) as (keyof typeof HTTP_PROBLEMS)[];

/** The HTTP status a code is answered with. */
export const problemStatus = (code: ErrorCode): number => errorCatalog[code].status;

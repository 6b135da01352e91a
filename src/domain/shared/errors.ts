/**
 * The stable error `code`s a rule of the shop can break (the contract's codes minus those only HTTP can produce,
 * such as an unknown route). How each is answered over HTTP (status, title) is the edge's business:
 * src/routes/lib/error-catalog.ts.
 */
export const DOMAIN_ERROR_CODES = [
  "VALIDATION_FAILED",
  "INVALID_PRODUCT",
  "INSUFFICIENT_STOCK",
  "BALANCE_LIMIT_EXCEEDED",
  "REFUND_EXCEEDS_PAID",
  "RETURN_EXCEEDS_AWAITED",
  "UNAUTHENTICATED",
  "INVALID_CREDENTIALS",
  "INSUFFICIENT_BALANCE",
  "PAYMENT_DECLINED",
  "FORBIDDEN",
  "USER_NOT_FOUND",
  "PRODUCT_NOT_FOUND",
  "MODEL_NOT_FOUND",
  "COUPON_NOT_FOUND",
  "ORDER_NOT_FOUND",
  "PAYMENT_NOT_FOUND",
  "REFUND_NOT_FOUND",
  "EVENT_NOT_FOUND",
  "EMAIL_TAKEN",
  "VERSION_CONFLICT",
  "SKU_TAKEN",
  "COUPON_CODE_TAKEN",
  "COUPON_ALREADY_ISSUED",
  "COUPON_SOLD_OUT",
  "COUPON_NOT_ACTIVE",
  "INVALID_COUPON_TRANSITION",
  "INVALID_ORDER_TRANSITION",
  "ORDER_NOT_CANCELLABLE",
  "ORDER_NOT_PAYABLE",
  "PAYMENT_IN_PROGRESS",
  "ORDER_NOT_REFUNDABLE",
  "ORDER_NOT_RETURNABLE",
  "EVENT_NOT_RETRYABLE",
  "IDEMPOTENCY_KEY_IN_USE",
  "IDEMPOTENCY_KEY_REUSED",
  /** Too many attempts of one kind (logins for an account, signups from an address) for now. */
  "RATE_LIMITED",
  /** A backing service (Redis, the password hasher's capacity) cannot serve the rule right now. */
  "UNAVAILABLE",
] as const;

export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export interface FieldError {
  path: string;
  message: string;
}

/** A rule of the shop was broken: which one (`code`) and the facts (detail, fields, extensions). */
export class DomainError extends Error {
  override name = "DomainError";

  constructor(
    readonly code: DomainErrorCode,
    detail: string,
    readonly errors?: FieldError[],
    /** Extra facts for the caller (e.g. `paymentId` of a declined payment, `retryAfterSeconds`). */
    readonly extensions?: Record<string, unknown>,
  ) {
    super(detail);
  }
}

export const validationFailed = (path: string, message: string) =>
  new DomainError("VALIDATION_FAILED", message, [{ path, message }]);

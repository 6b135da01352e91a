import type { GatewayCharge, GatewayLookup, PaymentGateway } from "../../domain/payments/ports";

/**
 * The contract's gateway protocol over HTTP (PAYMENT_GATEWAY_URL):
 *   POST {url}/payments {paymentId, orderId, amount}, Idempotency-Key: paymentId → APPROVED | DECLINED
 *   GET  {url}/payments/{paymentId} → APPROVED | DECLINED | PENDING, 404 = never received
 *   POST {url}/refunds {refundId, paymentId, amount}, Idempotency-Key: refundId → REFUNDED
 * Anything else (a timeout, a 5xx, an unreadable body) means the outcome is unknown: never a decline.
 */
export class HttpGateway implements PaymentGateway {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async charge(
    request: { paymentId: string; orderId: string; amount: number },
    sendBy: number,
  ): Promise<GatewayCharge> {
    // The send window recorded before this POST assumes it ends by `sendBy`: one that would start later is
    // not sent at all (its payment fails once the window closes, the gateway never having heard of it).
    const left = sendBy - Date.now();
    if (left <= 0) return { status: "UNKNOWN", reason: "the send window closed before the charge was sent" };
    const answer = await this.#call("POST", "/payments", request, request.paymentId, Math.min(left, this.timeoutMs));
    if (!answer.ok) return { status: "UNKNOWN", reason: answer.reason };
    const body = answer.body as { status?: unknown; transactionId?: unknown; reason?: unknown };
    if (body.status === "APPROVED" && typeof body.transactionId === "string") {
      return { status: "APPROVED", transactionId: body.transactionId };
    }
    if (body.status === "DECLINED") {
      return { status: "DECLINED", reason: typeof body.reason === "string" ? body.reason : "DECLINED" };
    }
    return { status: "UNKNOWN", reason: "unreadable answer" };
  }

  async lookup(paymentId: string): Promise<GatewayLookup> {
    const answer = await this.#call("GET", `/payments/${encodeURIComponent(paymentId)}`);
    if (!answer.ok)
      return answer.status === 404 ? { status: "NOT_FOUND" } : { status: "UNKNOWN", reason: answer.reason };
    const body = answer.body as { status?: unknown; transactionId?: unknown; reason?: unknown };
    if (body.status === "APPROVED" && typeof body.transactionId === "string") {
      return { status: "APPROVED", transactionId: body.transactionId };
    }
    if (body.status === "DECLINED") {
      return { status: "DECLINED", reason: typeof body.reason === "string" ? body.reason : undefined };
    }
    if (body.status === "PENDING") return { status: "PENDING" };
    return { status: "UNKNOWN", reason: "unreadable answer" };
  }

  async refund(request: { refundId: string; paymentId: string; amount: number }): Promise<boolean> {
    const answer = await this.#call("POST", "/refunds", request, request.refundId);
    return answer.ok && (answer.body as { status?: unknown }).status === "REFUNDED";
  }

  async #call(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    idempotencyKey?: string,
    timeoutMs = this.timeoutMs,
  ): Promise<{ ok: true; body: unknown } | { ok: false; status?: number; reason: string }> {
    try {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...(idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      if (res.status !== 200) return { ok: false, status: res.status, reason: `gateway answered ${res.status}` };
      try {
        const parsed = JSON.parse(text) as unknown;
        if (parsed === null || typeof parsed !== "object") return { ok: false, reason: "unreadable answer" };
        return { ok: true, body: parsed };
      } catch {
        return { ok: false, reason: "unreadable answer" };
      }
    } catch (error) {
      const timedOut = (error as Error).name === "TimeoutError";
      return { ok: false, reason: timedOut ? `no answer within ${timeoutMs} ms` : "gateway unreachable" };
    }
  }
}

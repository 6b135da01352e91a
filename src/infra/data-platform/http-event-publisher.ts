import type { DeliveryResult, EventPublisher, OutboxEvent } from "../../domain/outbox/ports";

/** How much of a refusing answer's body is kept in `lastError`: enough to say why, not a whole page. */
const ERROR_BODY_CHARS = 300;

/** The JSON body the data platform receives (contract: the event `{ id, aggregateId, type, payload, createdAt }`). */
export const toWireEvent = (event: OutboxEvent) => ({
  id: event.id,
  aggregateId: event.aggregateId,
  type: event.type,
  payload: event.payload,
  createdAt: event.createdAt.toISOString(),
});

/** 4xx means "this request is wrong" and repeating it cannot help, except a timeout (408) or throttling (429). */
const isRefusal = (status: number) => status >= 400 && status < 500 && status !== 408 && status !== 429;

/**
 * POSTs each event to DATA_PLATFORM_URL. `Idempotency-Key: <event id>` lets the platform drop the duplicates
 * at-least-once delivery brings. Bun's fetch keeps connections alive and reuses them, so a batch published
 * concurrently opens a few connections once instead of one per event.
 */
export class HttpEventPublisher implements EventPublisher {
  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  async publish(event: OutboxEvent): Promise<DeliveryResult> {
    let response: Response;
    let body: string;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "Idempotency-Key": event.id,
          "X-Event-Type": event.type,
        },
        body: JSON.stringify(toWireEvent(event)),
        // A redirect is a misconfigured URL, not an acceptance: followed, a POST could turn into a GET.
        redirect: "manual",
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // Read to the end, so the connection goes back to the pool for the next event.
      body = await response.text();
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      return {
        kind: "retryable",
        error: timedOut ? `no answer within ${this.timeoutMs} ms` : `request failed: ${(error as Error).message}`,
      };
    }
    if (response.status >= 200 && response.status < 300) return { kind: "accepted" };
    const error = `HTTP ${response.status}${body ? `: ${body.slice(0, ERROR_BODY_CHARS)}` : ""}`;
    return isRefusal(response.status) ? { kind: "refused", error } : { kind: "retryable", error };
  }
}

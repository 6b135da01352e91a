import type { ClaimedEvent, DeliveryResult } from "../../domain/outbox/ports";

export interface FailedTry {
  event: ClaimedEvent;
  result: Exclude<DeliveryResult, { kind: "accepted" }>;
}

export interface BatchOutcome {
  sent: ClaimedEvent[];
  failed: FailedTry[];
  /** Claimed but never tried: behind a failed event of their aggregate, or refused a start by `tryEvent`. */
  unstarted: ClaimedEvent[];
}

/** One try of one event; undefined when it was not started (the relay is stopping, or the lease is too short). */
export type TryEvent = (event: ClaimedEvent) => Promise<DeliveryResult | undefined>;

/**
 * Publishes a claimed batch: aggregates concurrently, each aggregate's events one after another in `seq`
 * order. An aggregate stops at its first failure or unstarted try: its later events must not overtake it.
 */
export async function deliverBatch(events: ClaimedEvent[], tryEvent: TryEvent): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { sent: [], failed: [], unstarted: [] };
  const byAggregate = new Map<string, ClaimedEvent[]>();
  for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
    const chain = byAggregate.get(event.aggregateId);
    if (chain) chain.push(event);
    else byAggregate.set(event.aggregateId, [event]);
  }
  await Promise.all(
    [...byAggregate.values()].map(async (chain) => {
      for (const [index, event] of chain.entries()) {
        // The port never rejects; should an adapter break that promise, the try counts as failed, not the batch.
        const result = await tryEvent(event).catch(
          (error: unknown): DeliveryResult => ({ kind: "retryable", error: String(error) }),
        );
        if (result === undefined) {
          outcome.unstarted.push(...chain.slice(index));
          return;
        }
        if (result.kind !== "accepted") {
          outcome.failed.push({ event, result });
          outcome.unstarted.push(...chain.slice(index + 1));
          return;
        }
        outcome.sent.push(event);
      }
    }),
  );
  return outcome;
}

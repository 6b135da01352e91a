import type { ClaimedEvent, DeliveryResult, EventPublisher } from "../../domain/outbox/ports";

export interface FailedTry {
  event: ClaimedEvent;
  result: Exclude<DeliveryResult, { kind: "accepted" }>;
}

export interface BatchOutcome {
  sent: ClaimedEvent[];
  failed: FailedTry[];
  /** Claimed but never tried: behind a failed event of their aggregate, or left when starting was no longer safe. */
  unstarted: ClaimedEvent[];
}

/**
 * Publishes a claimed batch: aggregates concurrently, each aggregate's events one after another in `seq`
 * order. An aggregate stops at its first failure (its later events must not overtake it), and no try starts
 * once `mayStart` says no (the relay is stopping, or the try could outlast the lease).
 */
export async function deliverBatch(
  events: ClaimedEvent[],
  publisher: EventPublisher,
  mayStart: () => boolean,
): Promise<BatchOutcome> {
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
        if (!mayStart()) {
          outcome.unstarted.push(...chain.slice(index));
          return;
        }
        // The port never rejects; should an adapter break that promise, the try counts as failed, not the batch.
        const result = await publisher
          .publish(event)
          .catch((error: unknown): DeliveryResult => ({ kind: "retryable", error: String(error) }));
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

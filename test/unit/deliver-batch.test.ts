import { describe, expect, it } from "bun:test";
import type { ClaimedEvent, DeliveryResult, EventPublisher } from "../../src/domain/outbox/ports";
import { deliverBatch } from "../../src/workers/outbox-relay/deliver-batch";

let seq = 0;
const event = (aggregateId: string): ClaimedEvent => ({
  id: `event-${++seq}`,
  aggregateId,
  type: "ORDER_CREATED",
  payload: {},
  createdAt: new Date(),
  seq,
  attempts: 0,
});

/** Records the order of tries and answers from a table; every try waits a tick so aggregates interleave. */
function publisherAnswering(answers: Record<string, DeliveryResult> = {}) {
  const tried: string[] = [];
  const publisher: EventPublisher = {
    async publish(e) {
      tried.push(e.id);
      await Bun.sleep(1);
      return answers[e.id] ?? { kind: "accepted" };
    },
  };
  return { publisher, tried };
}

describe("deliverBatch", () => {
  it("publishes each aggregate's events in seq order, aggregates side by side", async () => {
    const [a1, b1, a2, b2, a3] = [event("a"), event("b"), event("a"), event("b"), event("a")];
    const { publisher, tried } = publisherAnswering();
    const outcome = await deliverBatch([a3!, b2!, a1!, b1!, a2!], publisher, () => true);
    expect(outcome.sent.map((e) => e.id).sort()).toEqual([a1, a2, a3, b1, b2].map((e) => e!.id).sort());
    expect(tried.filter((id) => [a1, a2, a3].some((e) => e!.id === id))).toEqual([a1!.id, a2!.id, a3!.id]);
    expect(tried.filter((id) => [b1, b2].some((e) => e!.id === id))).toEqual([b1!.id, b2!.id]);
    // Both aggregates started before either finished.
    expect(tried.slice(0, 2).sort()).toEqual([a1!.id, b1!.id].sort());
  });

  it("stops an aggregate at its first failure and leaves its later events untried; others carry on", async () => {
    const [a1, a2, a3, b1] = [event("a"), event("a"), event("a"), event("b")];
    const { publisher, tried } = publisherAnswering({ [a2!.id]: { kind: "retryable", error: "HTTP 503" } });
    const outcome = await deliverBatch([a1!, a2!, a3!, b1!], publisher, () => true);
    expect(outcome.sent.map((e) => e.id).sort()).toEqual([a1!.id, b1!.id].sort());
    expect(outcome.failed).toEqual([{ event: a2!, result: { kind: "retryable", error: "HTTP 503" } }]);
    expect(outcome.unstarted).toEqual([a3!]);
    expect(tried).not.toContain(a3!.id);
  });

  it("starts no try once it may not, and hands back everything left", async () => {
    const [a1, a2, b1] = [event("a"), event("a"), event("b")];
    const { publisher } = publisherAnswering();
    let allowed = 1;
    const outcome = await deliverBatch([a1!, a2!, b1!], publisher, () => allowed-- > 0);
    expect(outcome.sent).toEqual([a1!]);
    expect(outcome.unstarted.map((e) => e.id).sort()).toEqual([a2!.id, b1!.id].sort());
  });

  it("counts a publisher that throws as a retryable failure of that event only", async () => {
    const [a1, b1] = [event("a"), event("b")];
    const publisher: EventPublisher = {
      async publish(e) {
        if (e.id === a1!.id) throw new Error("adapter bug");
        return { kind: "accepted" };
      },
    };
    const outcome = await deliverBatch([a1!, b1!], publisher, () => true);
    expect(outcome.sent).toEqual([b1!]);
    expect(outcome.failed[0]?.result).toEqual({ kind: "retryable", error: "Error: adapter bug" });
  });
});

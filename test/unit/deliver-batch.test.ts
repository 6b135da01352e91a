import { describe, expect, it } from "bun:test";
import type { ClaimedEvent, DeliveryResult } from "../../src/domain/outbox/ports";
import { ConcurrencyLimit } from "../../src/infra/concurrency-limit";
import { deliverBatch, type TryEvent } from "../../src/workers/outbox-relay/deliver-batch";

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
function triesAnswering(answers: Record<string, DeliveryResult | undefined> = {}) {
  const tried: string[] = [];
  const tryEvent: TryEvent = async (e) => {
    tried.push(e.id);
    await Bun.sleep(1);
    return e.id in answers ? answers[e.id] : { kind: "accepted" };
  };
  return { tryEvent, tried };
}

describe("deliverBatch", () => {
  it("publishes each aggregate's events in seq order, aggregates side by side", async () => {
    const [a1, b1, a2, b2, a3] = [event("a"), event("b"), event("a"), event("b"), event("a")];
    const { tryEvent, tried } = triesAnswering();
    const outcome = await deliverBatch([a3!, b2!, a1!, b1!, a2!], tryEvent);
    expect(outcome.sent.map((e) => e.id).sort()).toEqual([a1, a2, a3, b1, b2].map((e) => e!.id).sort());
    expect(tried.filter((id) => [a1, a2, a3].some((e) => e!.id === id))).toEqual([a1!.id, a2!.id, a3!.id]);
    expect(tried.filter((id) => [b1, b2].some((e) => e!.id === id))).toEqual([b1!.id, b2!.id]);
    // Both aggregates started before either finished.
    expect(tried.slice(0, 2).sort()).toEqual([a1!.id, b1!.id].sort());
  });

  it("stops an aggregate at its first failure and leaves its later events untried; others carry on", async () => {
    const [a1, a2, a3, b1] = [event("a"), event("a"), event("a"), event("b")];
    const { tryEvent, tried } = triesAnswering({ [a2!.id]: { kind: "retryable", error: "HTTP 503" } });
    const outcome = await deliverBatch([a1!, a2!, a3!, b1!], tryEvent);
    expect(outcome.sent.map((e) => e.id).sort()).toEqual([a1!.id, b1!.id].sort());
    expect(outcome.failed).toEqual([{ event: a2!, result: { kind: "retryable", error: "HTTP 503" } }]);
    expect(outcome.unstarted).toEqual([a3!]);
    expect(tried).not.toContain(a3!.id);
  });

  it("hands back an aggregate from the first try that was not started", async () => {
    const [a1, a2, a3, b1] = [event("a"), event("a"), event("a"), event("b")];
    const { tryEvent, tried } = triesAnswering({ [a2!.id]: undefined, [b1!.id]: undefined });
    const outcome = await deliverBatch([a1!, a2!, a3!, b1!], tryEvent);
    expect(outcome.sent).toEqual([a1!]);
    expect(outcome.failed).toEqual([]);
    expect(outcome.unstarted.map((e) => e.id).sort()).toEqual([a2!.id, a3!.id, b1!.id].sort());
    expect(tried).not.toContain(a3!.id);
  });

  it("counts a try that throws as a retryable failure of that event only", async () => {
    const [a1, b1] = [event("a"), event("b")];
    const tryEvent: TryEvent = async (e) => {
      if (e.id === a1!.id) throw new Error("adapter bug");
      return { kind: "accepted" };
    };
    const outcome = await deliverBatch([a1!, b1!], tryEvent);
    expect(outcome.sent).toEqual([b1!]);
    expect(outcome.failed[0]?.result).toEqual({ kind: "retryable", error: "Error: adapter bug" });
  });
});

describe("ConcurrencyLimit", () => {
  it("runs at most `max` pieces of work at once and every piece eventually", async () => {
    const limit = new ConcurrencyLimit(3);
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        limit.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await Bun.sleep(Math.random() * 3);
          running--;
          return n;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(peak).toBe(3);
  });

  it("starts waiting work in arrival order and frees the slot of work that failed", async () => {
    const limit = new ConcurrencyLimit(1);
    const started: number[] = [];
    const failing = limit.run(async () => {
      started.push(0);
      throw new Error("boom");
    });
    const rest = [1, 2, 3].map((n) => limit.run(async () => started.push(n)));
    await expect(failing).rejects.toThrow("boom");
    await Promise.all(rest);
    expect(started).toEqual([0, 1, 2, 3]);
  });
});

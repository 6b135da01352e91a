import { afterAll, describe, expect, it } from "bun:test";
import type { OutboxEvent } from "../../src/domain/outbox/ports";
import { HttpEventPublisher, toWireEvent } from "../../src/infra/data-platform/http-event-publisher";
import { LogEventPublisher } from "../../src/infra/data-platform/log-event-publisher";
import { createLogger } from "../../src/infra/logger";
import { startSink } from "../support/event-sink";

const answers = new Map<string, number | "hang">();
const sink = startSink(async (receipt) => {
  const answer = answers.get(receipt.body.id) ?? 200;
  if (answer === "hang") await Bun.sleep(2000);
  return answer === "hang" ? 200 : answer;
});
afterAll(() => sink.stop());

const publisher = new HttpEventPublisher(sink.url, 500);

const newEvent = (answer?: number | "hang"): OutboxEvent => {
  const event = {
    id: Bun.randomUUIDv7(),
    aggregateId: Bun.randomUUIDv7(),
    type: "ORDER_CREATED",
    payload: { totalAmount: 129_000, items: [{ productId: "p", quantity: 2 }] },
    createdAt: new Date("2026-11-25T10:00:00.000Z"),
  };
  if (answer !== undefined) answers.set(event.id, answer);
  return event;
};

describe("HttpEventPublisher", () => {
  it("POSTs the event as JSON with its id as Idempotency-Key and its type as X-Event-Type", async () => {
    const event = newEvent();
    expect(await publisher.publish(event)).toEqual({ kind: "accepted" });
    const [receipt] = sink.of(event.id);
    expect(receipt?.body).toEqual({
      id: event.id,
      aggregateId: event.aggregateId,
      type: "ORDER_CREATED",
      payload: event.payload,
      createdAt: "2026-11-25T10:00:00.000Z",
    });
    expect(receipt?.headers.get("idempotency-key")).toBe(event.id);
    expect(receipt?.headers.get("x-event-type")).toBe("ORDER_CREATED");
    expect(receipt?.headers.get("content-type")).toBe("application/json");
  });

  it.each([200, 201, 202, 204])("counts %i as accepted", async (status) => {
    expect(await publisher.publish(newEvent(status))).toEqual({ kind: "accepted" });
  });

  it.each([400, 401, 403, 404, 409, 413, 422])(
    "counts %i as a refusal, with the answer in the error",
    async (status) => {
      expect(await publisher.publish(newEvent(status))).toEqual({
        kind: "refused",
        error: `HTTP ${status}: the sink says no`,
      });
    },
  );

  it.each([408, 429, 500, 502, 503, 301])("counts %i as worth retrying", async (status) => {
    const result = await publisher.publish(newEvent(status));
    expect(result.kind).toBe("retryable");
    expect(result).toMatchObject({ error: expect.stringContaining(`HTTP ${status}`) });
  });

  it("gives up on a platform that does not answer within the timeout, as retryable", async () => {
    expect(await publisher.publish(newEvent("hang"))).toEqual({
      kind: "retryable",
      error: "no answer within 500 ms",
    });
  });

  it("counts an unreachable platform as retryable", async () => {
    const probe = Bun.serve({ port: 0, fetch: () => new Response() });
    const closedPort = probe.port;
    probe.stop(true);
    const result = await new HttpEventPublisher(`http://127.0.0.1:${closedPort}/`, 500).publish(newEvent());
    expect(result.kind).toBe("retryable");
    expect(result).toMatchObject({ error: expect.stringContaining("request failed") });
  });

  it("reuses its connections: many events, few sockets", async () => {
    const events = Array.from({ length: 30 }, () => newEvent());
    for (const event of events) await publisher.publish(event);
    const ports = new Set(events.map((event) => sink.of(event.id)[0]?.remotePort));
    expect(ports.size).toBe(1);
  });
});

describe("LogEventPublisher", () => {
  it("writes the event to the log and reports it accepted", async () => {
    const lines: string[] = [];
    const logger = createLogger("info", {}, { write: (line: string) => lines.push(line) });
    const event = newEvent();
    expect(await new LogEventPublisher(logger).publish(event)).toEqual({ kind: "accepted" });
    const logged = JSON.parse(lines[0] ?? "{}");
    expect(logged.event).toMatchObject({ id: event.id, type: "ORDER_CREATED", createdAt: "2026-11-25T10:00:00.000Z" });
    expect(sink.of(event.id)).toEqual([]);
  });

  it("writes the line pino would write for the same fields, built by hand", async () => {
    const lines: string[] = [];
    const logger = createLogger("info", { thread: "outbox-relay" }, { write: (line: string) => lines.push(line) });
    const event = { ...newEvent(), payload: { note: 'a "quoted" \\ line\nbreak', amount: 1200, nested: [1, null] } };
    await new LogEventPublisher(logger).publish(event);
    logger.info({ event: toWireEvent(event) }, "outbox event (no DATA_PLATFORM_URL: logged, not sent)");
    const [byHand, byPino] = lines.map((line) => line.replace(/"time":"[^"]+"/, '"time":"T"'));
    expect(byHand).toBe(byPino!);
    expect(byHand!.endsWith("}\n")).toBe(true);
  });

  it("writes nothing below its level, and still accepts the event", async () => {
    const lines: string[] = [];
    const logger = createLogger("warn", {}, { write: (line: string) => lines.push(line) });
    expect(await new LogEventPublisher(logger).publish(newEvent())).toEqual({ kind: "accepted" });
    expect(lines).toEqual([]);
  });
});

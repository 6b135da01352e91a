import { describe, expect, it } from "bun:test";
import type { EventStatus } from "../../src/domain/outbox/event-status";
import { OutboxService } from "../../src/domain/outbox/outbox-service";
import type { OutboxEventRecord, OutboxEventRepository } from "../../src/domain/outbox/ports";
import { domainErrorOf } from "../support/domain-error";

const record = (status: EventStatus): OutboxEventRecord => ({
  id: "01936b2c-8a10-7b21-a3c4-0e5f6a7b8c9d",
  aggregateId: "01936b2c-7f00-7c3a-9d2e-5b1f0a4e8c11",
  type: "ORDER_CREATED",
  payload: {},
  status,
  attempts: 3,
  nextAttemptAt: new Date(),
  lastError: "HTTP 503",
  createdAt: new Date(),
  sentAt: null,
});

/** A repository whose event is in `statuses[n]` at the n-th read, and whose conditional retry may lose a race. */
function repository(statuses: EventStatus[], retryWins: boolean): OutboxEventRepository {
  let reads = 0;
  return {
    list: async () => ({ items: [], page: 1, size: 20, total: 0 }),
    find: async () => record(statuses[Math.min(reads++, statuses.length - 1)]!),
    retry: async () => (retryWins ? { ...record("PENDING"), attempts: 0 } : undefined),
    backlog: async () => [],
  };
}

describe("OutboxService.retryEvent", () => {
  it("retries a FAILED event", async () => {
    const service = new OutboxService(repository(["FAILED"], true));
    expect(await service.retryEvent("order", record("FAILED").id)).toMatchObject({ status: "PENDING", attempts: 0 });
  });

  it("refuses with the status a relay gave the event between the look-up and the retry", async () => {
    const service = new OutboxService(repository(["FAILED", "PROCESSING"], false));
    const error = await domainErrorOf(service.retryEvent("order", record("FAILED").id));
    expect(error.code).toBe("EVENT_NOT_RETRYABLE");
    expect(error.message).toContain("is PROCESSING");
  });

  it("does not try to retry an event the machine does not allow", async () => {
    let retried = false;
    const repo = {
      ...repository(["SENT"], true),
      retry: async () => {
        retried = true;
        return undefined;
      },
    };
    const error = await domainErrorOf(new OutboxService(repo).retryEvent("order", record("SENT").id));
    expect(error.code).toBe("EVENT_NOT_RETRYABLE");
    expect(retried).toBe(false);
  });

  it("answers EVENT_NOT_FOUND for an unknown event", async () => {
    const repo = { ...repository(["FAILED"], true), find: async () => undefined };
    expect((await domainErrorOf(new OutboxService(repo).retryEvent("coupon", "x"))).code).toBe("EVENT_NOT_FOUND");
  });
});

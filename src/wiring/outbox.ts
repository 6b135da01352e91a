import { OutboxService } from "../domain/outbox/outbox-service";
import { DrizzleOutboxEventRepository } from "../infra/db/repositories/outbox-repository";
import { OutboxMetrics } from "../infra/outbox-metrics";
import type { Infrastructure } from "./infrastructure";

/**
 * The outbox as the app sees it: the admin's view of the events and the metrics. The writer is infrastructure
 * (every context appends through `infra.outbox`); the relay builds its own container (src/workers/outbox-relay).
 */
export function wireOutbox(infra: Infrastructure) {
  const events = new DrizzleOutboxEventRepository(infra.transactions);
  return {
    outbox: new OutboxService(events),
    outboxMetrics: new OutboxMetrics(infra.metrics.registry, () => events.backlog(), infra.logger),
  };
}

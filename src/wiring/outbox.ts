import { OutboxService } from "../domain/outbox/outbox-service";
import { OutboxMetrics } from "../infra/metrics/outbox";
import type { Infrastructure } from "./infrastructure";

/**
 * The outbox as the app sees it: the admin's view of the events and the metrics. The writer is infrastructure
 * (every context appends through `infra.outbox`); the relay builds its own container (src/workers/outbox-relay).
 */
export function wireOutbox(infra: Infrastructure) {
  const events = infra.repositories.outboxEvents;
  return {
    outbox: new OutboxService(events),
    outboxMetrics: new OutboxMetrics(infra.metrics.registry, () => events.backlog(), infra.logger),
  };
}

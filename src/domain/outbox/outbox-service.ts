import { DomainError } from "../shared/errors";
import type { Page, PageRequest } from "../shared/paging";
import { EVENT_MACHINE, EVENT_TRANSITIONS } from "./event-status";
import type { EventFilter, OutboxEventRecord, OutboxEventRepository, OutboxTopic } from "./ports";

/** What admins do with the outbox: look at events, and send a failed or alerted one again. */
export class OutboxService {
  constructor(private readonly events: OutboxEventRepository) {}

  listEvents(topic: OutboxTopic, filter: EventFilter, page: PageRequest): Promise<Page<OutboxEventRecord>> {
    return this.events.list(topic, filter, page);
  }

  /**
   * FAILED or ALERTED → PENDING with attempts 0 (the relay picks it up at once). The repository applies the
   * transition only from those statuses, in one statement, so an event a relay claims at the same moment is
   * not overwritten: that retry is refused with the status the event has by then.
   */
  async retryEvent(topic: OutboxTopic, eventId: string): Promise<OutboxEventRecord> {
    let event = await this.events.find(topic, eventId);
    if (!event) throw new DomainError("EVENT_NOT_FOUND", `No ${topic} event ${eventId}`);
    if (EVENT_MACHINE.can(event.status, EVENT_TRANSITIONS.retry.to, "retry")) {
      const retried = await this.events.retry(topic, eventId);
      if (retried) return retried;
      event = (await this.events.find(topic, eventId)) ?? event;
    }
    throw new DomainError(
      "EVENT_NOT_RETRYABLE",
      `Event ${eventId} is ${event.status}; only ${EVENT_TRANSITIONS.retry.from.join(" or ")} events can be retried`,
    );
  }
}

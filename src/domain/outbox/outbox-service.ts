import { DomainError } from "../shared/errors";
import type { Page, PageRequest } from "../shared/paging";
import { EVENT_TRANSITIONS } from "./event-status";
import type { EventFilter, OutboxEventRecord, OutboxEventRepository, OutboxTopic } from "./ports";

/** What admins do with the outbox: look at events, and send a failed or alerted one again. */
export class OutboxService {
  constructor(private readonly events: OutboxEventRepository) {}

  listEvents(topic: OutboxTopic, filter: EventFilter, page: PageRequest): Promise<Page<OutboxEventRecord>> {
    return this.events.list(topic, filter, page);
  }

  /**
   * FAILED or ALERTED → PENDING with attempts 0 (the relay picks it up at once). The repository applies the
   * transition only from those statuses, in one statement, so a relay changing the event at the same moment
   * cannot be overwritten; anything else is refused with the status the event is in.
   */
  async retryEvent(topic: OutboxTopic, eventId: string): Promise<OutboxEventRecord> {
    const retried = await this.events.retry(topic, eventId);
    if (retried) return retried;
    const event = await this.events.find(topic, eventId);
    if (!event) throw new DomainError("EVENT_NOT_FOUND", `No ${topic} event ${eventId}`);
    throw new DomainError(
      "EVENT_NOT_RETRYABLE",
      `Event ${eventId} is ${event.status}; only ${EVENT_TRANSITIONS.retry.from.join(" or ")} events can be retried`,
    );
  }
}

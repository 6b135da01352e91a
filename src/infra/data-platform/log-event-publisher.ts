import type { DeliveryResult, EventPublisher, OutboxEvent } from "../../domain/outbox/ports";
import { type Logger, writeSerializedInfo } from "../logger";
import { toWireEvent } from "./http-event-publisher";

const MESSAGE = "outbox event (no DATA_PLATFORM_URL: logged, not sent)";

/**
 * Without DATA_PLATFORM_URL events go to the log (contract: "written to the log and marked SENT"): one info line
 * per event, `{ …, "event": { id, aggregateId, type, payload, createdAt }, "msg": … }`, so an operator can find
 * any event by its id. On a drop day that is a line per event, thousands a second: the line is built by hand
 * from the event serialised once (pino's general path cost more than the rest of the relay's work per event).
 */
export class LogEventPublisher implements EventPublisher {
  constructor(private readonly logger: Logger) {}

  async publish(event: OutboxEvent): Promise<DeliveryResult> {
    writeSerializedInfo(this.logger, `"event":${JSON.stringify(toWireEvent(event))}`, MESSAGE);
    return { kind: "accepted" };
  }
}

import type { DeliveryResult, EventPublisher, OutboxEvent } from "../../domain/outbox/ports";
import type { Logger } from "../logger";
import { toWireEvent } from "./http-event-publisher";

/** Without DATA_PLATFORM_URL events go to the log (contract: "written to the log and marked SENT"). */
export class LogEventPublisher implements EventPublisher {
  constructor(private readonly logger: Logger) {}

  async publish(event: OutboxEvent): Promise<DeliveryResult> {
    this.logger.info({ event: toWireEvent(event) }, "outbox event (no DATA_PLATFORM_URL: logged, not sent)");
    return { kind: "accepted" };
  }
}

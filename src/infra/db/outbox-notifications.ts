import type { PGlite } from "@electric-sql/pglite";
import type { Sql } from "postgres";
import type { OutboxTopic } from "../../domain/outbox/ports";
import type { DatabaseHandle } from "./client";

/** The channel the outbox tables' triggers notify (migration 0007_outbox_notify), with the table as payload. */
export const OUTBOX_CHANNEL = "outbox_events";

const TOPIC_OF_TABLE: Record<string, OutboxTopic> = { order_events: "order", coupon_events: "coupon" };

export interface OutboxNotifications {
  /** Events of `topic` were committed (or put back in the queue). */
  onEvents(topic: OutboxTopic): void;
  /** Listening (again, after a reconnect): notifications sent meanwhile are lost, so look for work now. */
  onListening(): void;
}

/**
 * LISTEN on the driver underneath drizzle: postgres.js keeps a dedicated connection for it and listens again
 * after a reconnect; PGlite delivers notifications of its own (single) session. Resolves to an unlisten.
 */
export async function listenForOutboxEvents(
  database: DatabaseHandle,
  notifications: OutboxNotifications,
): Promise<() => Promise<void>> {
  const deliver = (payload: string) => {
    const topic = TOPIC_OF_TABLE[payload];
    if (topic) notifications.onEvents(topic);
  };
  const client = (database.db as unknown as { $client: unknown }).$client;
  if (database.kind === "postgres") {
    const { unlisten } = await (client as Sql).listen(OUTBOX_CHANNEL, deliver, notifications.onListening);
    return unlisten;
  }
  const unsubscribe = await (client as PGlite).listen(OUTBOX_CHANNEL, deliver);
  notifications.onListening();
  return () => unsubscribe();
}

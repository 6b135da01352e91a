import type { AppRouteHandler } from "../lib/app-env";
import type { listEvents, retryEvent } from "./events.routes";
import { toEventJson } from "./events.schemas";

export const listEventsHandler: AppRouteHandler<typeof listEvents> = async (c) => {
  const { table, status, type, aggregateId, page, size } = c.req.valid("query");
  const events = await c.get("services").outbox.listEvents(table, { status, type, aggregateId }, { page, size });
  return c.json({ ...events, items: events.items.map(toEventJson) }, 200);
};

export const retryEventHandler: AppRouteHandler<typeof retryEvent> = async (c) => {
  const { table, eventId } = c.req.valid("param");
  const event = await c.get("services").outbox.retryEvent(table, eventId);
  return c.json(toEventJson(event), 202);
};

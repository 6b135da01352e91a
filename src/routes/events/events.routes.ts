import { createRoute } from "@hono/zod-openapi";
import { problemResponses } from "../lib/openapi-problems";
import { jsonResponse } from "../lib/schemas";
import { requireRole, signedIn } from "../middleware/authenticate";
import { EventPageSchema, EventParams, EventSchema, ListEventsQuery } from "./events.schemas";

export const listEvents = createRoute({
  method: "get",
  path: "/api/v1/admin/events",
  operationId: "listEvents",
  tags: ["Admin"],
  summary: "Outbox events of one table, newest first (ADMIN)",
  description:
    "Filter by `status`, `type` (one of the table's types) and `aggregateId`. Shows what reached the data platform, what is backing off and what is ALERTED.",
  ...signedIn(requireRole("ADMIN")),
  request: { query: ListEventsQuery },
  responses: {
    200: jsonResponse(EventPageSchema, "One page of events"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN"),
  },
});

export const retryEvent = createRoute({
  method: "post",
  path: "/api/v1/admin/events/{table}/{eventId}/retry",
  operationId: "retryEvent",
  tags: ["Admin"],
  summary: "Send a FAILED or ALERTED event again (ADMIN)",
  description:
    "Puts the event back as PENDING with attempts reset to 0; the relay delivers it (and the events of its aggregate that waited behind it) right away. SENT, PENDING and PROCESSING events cannot be retried.",
  ...signedIn(requireRole("ADMIN")),
  request: { params: EventParams },
  responses: {
    202: jsonResponse(EventSchema, "Queued for delivery again"),
    ...problemResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "FORBIDDEN", "EVENT_NOT_FOUND", "EVENT_NOT_RETRYABLE"),
  },
});

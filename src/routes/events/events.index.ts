import { createRouter } from "../lib/create-router";
import { listEventsHandler, retryEventHandler } from "./events.handlers";
import { listEvents, retryEvent } from "./events.routes";

export const eventsRouter = createRouter()
  .openapi(listEvents, listEventsHandler)
  .openapi(retryEvent, retryEventHandler);

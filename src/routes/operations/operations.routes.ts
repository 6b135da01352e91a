import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "../lib/openapi-problems";
import { jsonResponse } from "../lib/schemas";

const DependencyState = z.enum(["up", "down", "not configured"]);

export const ReadinessSchema = z
  .object({
    status: z.enum(["ready", "unavailable"]),
    checks: z.record(z.string(), DependencyState).openapi({ example: { database: "up", redis: "up" } }),
  })
  .openapi("Readiness");

export const liveness = createRoute({
  operationId: "liveness",
  method: "get",
  path: "/healthz",
  tags: ["Operations"],
  summary: "Process is alive",
  security: [],
  responses: { 200: jsonResponse(z.object({ status: z.literal("ok") }), "Alive"), ...problemResponses() },
});

export const readiness = createRoute({
  operationId: "readiness",
  method: "get",
  path: "/readyz",
  tags: ["Operations"],
  summary: "Database and Redis reachable, event loop on time",
  description:
    "503 when a configured dependency does not answer within 2 s, or when this process's event loop lagged more than EVENT_LOOP_LAG_LIMIT_MS within the last 3 s (`eventLoop: down`).",
  security: [],
  responses: {
    ...problemResponses(),
    200: jsonResponse(ReadinessSchema, "Ready to serve"),
    // Its own 503 (which dependency is down) takes the place of the generic one.
    503: jsonResponse(ReadinessSchema, "A dependency is down, or this process's event loop lags"),
  },
});

export const metrics = createRoute({
  operationId: "metrics",
  method: "get",
  path: "/metrics",
  tags: ["Operations"],
  summary: "Prometheus metrics",
  description:
    "Public unless `METRICS_TOKEN` is set; then only `Authorization: Bearer <METRICS_TOKEN>` may read them (401 otherwise).",
  // Documented as public (the default); the token is a deployment setting, stated in the description.
  security: [],
  responses: {
    200: { description: "Prometheus text exposition format", content: { "text/plain": { schema: z.string() } } },
    ...problemResponses("UNAUTHENTICATED"),
  },
});

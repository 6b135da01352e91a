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
  summary: "Database and Redis reachable",
  description: "503 when a configured dependency does not answer within 2 s.",
  security: [],
  responses: {
    200: jsonResponse(ReadinessSchema, "Ready to serve"),
    503: jsonResponse(ReadinessSchema, "A dependency is down"),
    ...problemResponses(),
  },
});

export const metrics = createRoute({
  operationId: "metrics",
  method: "get",
  path: "/metrics",
  tags: ["Operations"],
  summary: "Prometheus metrics",
  security: [],
  responses: {
    200: { description: "Prometheus text exposition format", content: { "text/plain": { schema: z.string() } } },
    ...problemResponses(),
  },
});

import { createRouter } from "../lib/create-router";
import { livenessHandler, metricsHandler, readinessHandler } from "./operations.handlers";
import { liveness, metrics, readiness } from "./operations.routes";

export const operationsRouter = createRouter()
  .openapi(liveness, livenessHandler)
  .openapi(readiness, readinessHandler)
  .openapi(metrics, metricsHandler);

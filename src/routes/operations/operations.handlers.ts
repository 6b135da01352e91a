import { DomainError } from "../../domain/shared/errors";
import type { AppRouteHandler } from "../lib/app-env";
import type { liveness, metrics, readiness } from "./operations.routes";

export const livenessHandler: AppRouteHandler<typeof liveness> = (c) => c.json({ status: "ok" as const }, 200);

export const readinessHandler: AppRouteHandler<typeof readiness> = async (c) => {
  const { ready, checks } = await c.var.services.health.readiness();
  return ready
    ? c.json({ status: "ready" as const, checks }, 200)
    : c.json({ status: "unavailable" as const, checks }, 503);
};

export const metricsHandler: AppRouteHandler<typeof metrics> = async (c) => {
  const { registry } = c.var.services.metrics;
  if (!c.var.services.metrics.allows(c.req.header("Authorization"))) {
    throw new DomainError("UNAUTHENTICATED", "Send Authorization: Bearer <METRICS_TOKEN>");
  }
  return c.text(await registry.metrics(), 200, { "Content-Type": registry.contentType });
};

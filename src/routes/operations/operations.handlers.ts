import { DomainError } from "../../domain/shared/errors";
import type { AppRouteHandler } from "../lib/app-env";
import { hardenedJson } from "../middleware/response-headers";
import type { liveness, metrics, readiness } from "./operations.routes";

export const ALIVE = JSON.stringify({ status: "ok" });

/** What load balancers ask many times a second: one constant body, its headers copied in one go. */
export const livenessHandler: AppRouteHandler<typeof liveness> = () => hardenedJson(ALIVE, 200) as never;

export const readinessHandler: AppRouteHandler<typeof readiness> = async (c) => {
  const { ready, checks } = await c.get("services").health.readiness();
  return ready
    ? c.json({ status: "ready" as const, checks }, 200)
    : c.json({ status: "unavailable" as const, checks }, 503);
};

export const metricsHandler: AppRouteHandler<typeof metrics> = async (c) => {
  const { registry } = c.get("services").metrics;
  if (!c.get("services").metrics.allows(c.req.header("Authorization"))) {
    throw new DomainError("UNAUTHENTICATED", "Send Authorization: Bearer <METRICS_TOKEN>");
  }
  return c.text(await registry.metrics(), 200, { "Content-Type": registry.contentType });
};

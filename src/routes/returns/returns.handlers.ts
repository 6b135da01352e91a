import type { AppRouteHandler } from "../lib/app-env";
import type { recordReturn } from "./returns.routes";

export const recordReturnHandler: AppRouteHandler<typeof recordReturn> = async (c) => {
  const { orderId } = c.req.valid("param");
  const recorded = await c.get("services").returns.record(c.get("actor"), orderId, c.req.valid("json").items);
  return c.json(recorded, 201);
};

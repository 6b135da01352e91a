import type { AppRouteHandler } from "../lib/app-env";
import { publicJson } from "../lib/public-read";
import type { getModel } from "./models.routes";

export const getModelHandler: AppRouteHandler<typeof getModel> = async (c) =>
  publicJson(c, await c.get("services").catalogue.modelBody(c.req.valid("param").modelCode));

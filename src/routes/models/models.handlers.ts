import type { AppRouteHandler } from "../lib/app-env";
import { serialisedJson } from "../lib/schemas";
import type { getModel } from "./models.routes";

export const getModelHandler: AppRouteHandler<typeof getModel> = async (c) =>
  serialisedJson(c, await c.var.services.catalogue.modelBody(c.req.valid("param").modelCode));

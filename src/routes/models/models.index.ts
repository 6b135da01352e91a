import { createRouter } from "../lib/create-router";
import { getModelHandler } from "./models.handlers";
import { getModel } from "./models.routes";

export const modelsRouter = createRouter().openapi(getModel, getModelHandler);

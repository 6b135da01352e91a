import { createRouter } from "../lib/create-router";
import { recordReturnHandler } from "./returns.handlers";
import { recordReturn } from "./returns.routes";

export const returnsRouter = createRouter().openapi(recordReturn, recordReturnHandler);

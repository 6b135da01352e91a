import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "../lib/openapi-problems";
import { notModifiedResponse, PUBLIC_READ_CACHING, publicReadHeaders } from "../lib/public-read";
import { jsonResponse } from "../lib/schemas";
import { ModelParams, ModelSchema } from "./models.schemas";

export const getModel = createRoute({
  method: "get",
  path: "/api/v1/models/{modelCode}",
  operationId: "getModel",
  tags: ["Products"],
  summary: "A sneaker model in every size, with every seller's offers",
  description:
    "The buyer's model page: for each size, the lowest price on sale, the units left over all sellers, and each seller's offer (a product to order). `modelCode` in any case. Read in one query and cached like a product page, and as fresh: it shows the stock after the latest committed order, payment, cancellation or edit of any of its products. 404 MODEL_NOT_FOUND when no seller has a live offer. " +
    PUBLIC_READ_CACHING,
  security: [],
  request: { params: ModelParams },
  responses: {
    200: { ...jsonResponse(ModelSchema, "The model"), headers: z.object(publicReadHeaders) },
    ...notModifiedResponse,
    ...problemResponses("VALIDATION_FAILED", "MODEL_NOT_FOUND"),
  },
});

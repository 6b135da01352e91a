import { OpenAPIHono } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import type { FieldError } from "../../domain/shared/errors";
import type { AppEnv } from "./app-env";
import { problem, problemResponse } from "./problem";

export function fieldErrors(error: ZodError, target?: string): FieldError[] {
  return error.issues.map((issue) => ({
    path: [target === "json" ? undefined : target, ...issue.path].filter((p) => p !== undefined).join(".") || "(root)",
    message: issue.message,
  }));
}

/** Every router shares this hook: any failed request schema is a 400 VALIDATION_FAILED with paths. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const errors = fieldErrors(result.error as ZodError, result.target);
        const detail = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
        return problemResponse(c, problem("VALIDATION_FAILED", detail, errors));
      }
    },
  });
}

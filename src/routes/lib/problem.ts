import type { Context } from "hono";
import type { FieldError } from "../../domain/shared/errors";
import { type ErrorCode, errorCatalog } from "./error-catalog";

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export const problemType = (code: ErrorCode) => `urn:kicks:problem:${code.toLowerCase().replaceAll("_", "-")}`;

export function problem(
  code: ErrorCode,
  detail: string,
  errors?: FieldError[],
  extensions?: Record<string, unknown>,
): ProblemDocument {
  const { status, title } = errorCatalog[code];
  return { ...extensions, type: problemType(code), title, status, detail, code, ...(errors ? { errors } : {}) };
}

/** RFC 9457 response; the request id is repeated in the body to make support tickets easy to trace. */
export function problemResponse(c: Context, document: ProblemDocument, headers: Record<string, string> = {}): Response {
  const requestId = c.get("requestId") as string | undefined;
  return c.body(JSON.stringify(requestId ? { ...document, requestId } : document), document.status as 400, {
    ...headers,
    "Content-Type": "application/problem+json",
  });
}

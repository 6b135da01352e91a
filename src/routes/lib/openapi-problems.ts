import { z } from "@hono/zod-openapi";
import { type ErrorCode, errorCatalog } from "./error-catalog";

const errorCodes = Object.keys(errorCatalog) as [ErrorCode, ...ErrorCode[]];

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "urn:kicks:problem:validation-failed" }),
    title: z.string().openapi({ example: "Validation failed" }),
    status: z.number().int().openapi({ example: 400 }),
    detail: z.string().openapi({ example: "amount: must be an integer from 1 to 10000000" }),
    code: z.enum(errorCodes).openapi({ description: "Stable, machine-readable error identifier" }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "Per-field problems (validation failures only)" }),
    requestId: z.string().optional().openapi({ description: "The X-Request-Id of the failed request" }),
  })
  .openapi("Problem", { description: "RFC 9457 problem details" });

/**
 * Response entries for the error codes a route can answer, grouped by status, each naming its codes.
 * Every route also lists 500 INTERNAL and 503 UNAVAILABLE (a backing service down, or the request over its time
 * limit, REQUEST_TIMEOUT_MS); spread the result into `responses`.
 */
export function problemResponses(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set([...codes, "INTERNAL" as const, "UNAVAILABLE" as const])) {
    const status = errorCatalog[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, grouped]) => [
      status,
      {
        description: grouped.map((code) => `\`${code}\` — ${errorCatalog[code].title}`).join("; "),
        content: { "application/problem+json": { schema: ProblemSchema } },
      },
    ]),
  );
}

/** What any route with a JSON body can answer before its handler runs. */
export const BODY_PROBLEMS = [
  "VALIDATION_FAILED",
  "MALFORMED_JSON",
  "PAYLOAD_TOO_LARGE",
] as const satisfies ErrorCode[];

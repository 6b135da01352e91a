import pino from "pino";

export type Logger = pino.Logger;

/**
 * Errors keep their stack but never their query parameters: drizzle appends `params: …` to a failed
 * query's message, and those are user data (emails, password hashes) that must not reach the logs.
 */
function serializeError(error: Error): Record<string, unknown> {
  const { params: _params, ...serialized } = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  const { message, stack } = serialized;
  if (typeof message !== "string" || !message.includes("\nparams: ")) return serialized;
  const clean = message.slice(0, message.indexOf("\nparams: "));
  return { ...serialized, message: clean, stack: typeof stack === "string" ? stack.replace(message, clean) : stack };
}

/** JSON lines on stdout; `err` objects are serialised with their stack (logs only, never responses). */
export function createLogger(
  level: string,
  base: Record<string, unknown> = {},
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    {
      level,
      base: { service: "kicks", ...base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
      redact: {
        paths: ["password", "*.password", "passwordHash", "*.passwordHash", "authorization", "*.authorization"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

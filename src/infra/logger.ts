import pino from "pino";

export type Logger = pino.Logger;

/** JSON lines on stdout; `err` objects are serialised with their stack (logs only, never responses). */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: "kicks", ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ["password", "*.password", "passwordHash", "*.passwordHash", "authorization", "*.authorization"],
      censor: "[redacted]",
    },
  });
}

import { Counter, type Registry } from "prom-client";
import type { Logger } from "../logger";

/** One kind of group commit, as /metrics and the log name it. */
export interface GroupKind {
  /** The metrics' prefix: `<prefix>_failures_total`, `<prefix>_failed_members_total`. */
  prefix: string;
  help: { failures: string; members: string };
  /** The warning logged with the error and the group's size. */
  message: string;
}

/**
 * Groups whose one statement failed as a whole (orders: docs/checkout-performance.md, "Grouped orders"; payment
 * completions: "Payment completions in groups"): their members went on alone, so no caller sees it. A rising count
 * is a member that cannot go (a buyer that does not exist, a payment that cannot complete), deadlocks, a sick
 * database, or group connections refused (max_connections met: docs/operations.md). Counts it and logs a warning.
 */
export function groupFailureObserver(
  registry: Registry,
  logger: Logger,
  kind: GroupKind,
): (error: unknown, size: number) => void {
  const failures = new Counter({
    name: `${kind.prefix}_failures_total`,
    help: kind.help.failures,
    registers: [registry],
  });
  const members = new Counter({
    name: `${kind.prefix}_failed_members_total`,
    help: kind.help.members,
    registers: [registry],
  });
  return (error, size) => {
    failures.inc();
    members.inc(size);
    logger.warn({ err: error, size }, kind.message);
  };
}

// `bun run reconcile:payments [--since <ISO time | 90m | 24h | 7d>] [--format json|text]`: asks the payment gateway
// about every payment of the window (every charge we may have sent, with the other payments of their orders)
// and checks every refund of it against the ledger, then reports each disagreement: gateway APPROVED but
// ours not COMPLETED, ours COMPLETED but the gateway does not say APPROVED, two approved charges for one
// order, a refund REFUNDED but not credited (or credited but not REFUNDED), a payment the gateway could not
// be asked about. One line each (JSON by default), then a summary. Exit status 1 on any, 0 when clean, 2 on
// bad arguments or configuration. Read-only: settling is confirm's and the recovery job's.
import { parseArgs } from "node:util";
import { buildContainer } from "../container";
import { describe } from "../domain/payments/payment-reconciliation";
import { loadConfig } from "../infra/config";
import { createLogger } from "../infra/logger";
import { runCommand, UsageError } from "./command";

const DEFAULT_WINDOW = "24h";
const UNITS_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An ISO-8601 moment, or a duration back from now (`30s`, `90m`, `24h`, `7d`). */
export function parseSince(value: string, now = Date.now()): Date {
  const duration = /^(\d+)([smhd])$/.exec(value.trim());
  if (duration) return new Date(now - Number(duration[1]) * UNITS_MS[duration[2] as keyof typeof UNITS_MS]);
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) return new Date(value);
  throw new UsageError(
    `--since: expected an ISO time (2026-12-01T00:00:00Z) or a duration (90m, 24h, 7d), got "${value}"`,
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { since: { type: "string", default: DEFAULT_WINDOW }, format: { type: "string", default: "json" } },
    strict: true,
  });
  if (values.format !== "json" && values.format !== "text") throw new UsageError("--format: json or text");
  const since = parseSince(values.since ?? DEFAULT_WINDOW);
  const config = loadConfig();
  if (!config.PAYMENT_GATEWAY_URL) {
    console.log("No PAYMENT_GATEWAY_URL: the simulated gateway lives inside the server process; nothing to ask.");
    return 0;
  }
  const container = buildContainer(config, createLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL));
  try {
    const report = await container.services.paymentReconciliation.reconcile({ since });
    const { disagreements, ...counts } = report;
    const byKind: Record<string, number> = {};
    for (const disagreement of disagreements) {
      byKind[disagreement.kind] = (byKind[disagreement.kind] ?? 0) + 1;
      console.log(
        values.format === "json" ? JSON.stringify(disagreement) : `${disagreement.kind}: ${describe(disagreement)}`,
      );
    }
    const summary = { since: since.toISOString(), ...counts, disagreements: disagreements.length, byKind };
    console.log(
      values.format === "json"
        ? JSON.stringify({ summary })
        : disagreements.length === 0
          ? `payments and gateway agree since ${summary.since} (${counts.asked} payments asked, ${counts.refunds} refunds)`
          : `${disagreements.length} disagreement(s) since ${summary.since}`,
    );
    return disagreements.length === 0 ? 0 : 1;
  } finally {
    await container.close();
  }
}

if (import.meta.main) await runCommand(main);

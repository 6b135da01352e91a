// `bun run coupons:reconcile [--repair] [--coupon <id>]`: compares every coupon's limited-issue state in Redis
// with PostgreSQL (the truth) and reports drift, one JSON line per coupon that has a state, then a summary.
// With --repair it fixes what it found: adds holders the state lacks, removes orphaned claims (older than
// the grace, never recorded), marks a state whose definition differs for a rebuild. A state already marked
// for a rebuild is reported (`stale: true`) but is not drift: the next claim rebuilds it from PostgreSQL. Exit
// status 1 when drift was found and not repaired, so a scheduler can alert on it; 2 when it could not run.
import { parseArgs } from "node:util";
import { buildContainer } from "../container";
import type { ReconcileResult } from "../domain/coupons/coupon-reconciliation";
import { loadConfig } from "../infra/config";
import { createLogger } from "../infra/logger";
import { runCommand } from "./command";

/** Ids listed per kind of drift; the counts are always complete. */
const LISTED = 20;

function report(result: Extract<ReconcileResult, { loaded: true }>) {
  const { drift } = result;
  return {
    couponId: result.couponId,
    drifted: result.drifted,
    repaired: result.repaired,
    issuedQuantity: drift.issuedQuantity,
    stateHolders: drift.stateHolders,
    missingHolders: drift.missingHolders.length,
    orphanedClaims: drift.orphanedClaims.length,
    pendingClaims: drift.pendingClaims,
    definitionDiffers: drift.definitionDiffers,
    lifecycleBehind: drift.lifecycleBehind,
    stale: drift.stale,
    ...(drift.missingHolders.length > 0 ? { missingHolderIds: drift.missingHolders.slice(0, LISTED) } : {}),
    ...(drift.orphanedClaims.length > 0
      ? { orphanedUserIds: drift.orphanedClaims.slice(0, LISTED).map((claim) => claim.userId) }
      : {}),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { repair: { type: "boolean", default: false }, coupon: { type: "string" } },
    strict: true,
  });
  const config = loadConfig();
  if (!config.REDIS_URL) {
    console.log("No REDIS_URL: the limited-issue state lives inside the single server process; nothing to reconcile.");
    return 0;
  }
  const container = buildContainer(config, createLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL));
  const { couponReconciliation } = container.services;
  const repair = values.repair ?? false;
  const summary = { coupons: 0, withState: 0, drifted: 0, repaired: 0 };
  try {
    const results = values.coupon
      ? [await couponReconciliation.reconcile(values.coupon.toLowerCase(), { repair })]
      : couponReconciliation.reconcileAll({ repair });
    for await (const result of results) {
      summary.coupons++;
      if (!result.loaded) continue;
      summary.withState++;
      if (result.drifted) summary.drifted++;
      if (result.repaired) summary.repaired++;
      console.log(JSON.stringify(report(result)));
    }
  } finally {
    await container.close();
  }
  console.log(JSON.stringify({ summary: { ...summary, repair } }));
  return summary.drifted > summary.repaired ? 1 : 0;
}

await runCommand(main);

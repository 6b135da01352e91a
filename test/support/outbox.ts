import { asc, inArray } from "drizzle-orm";
import type { BatchReport, EventTypeOf, OutboxTopic } from "../../src/domain/outbox/ports";
import { loadConfig } from "../../src/infra/config";
import type { DatabaseHandle } from "../../src/infra/db/client";
import { DrizzleOutboxWriter } from "../../src/infra/db/repositories/outbox-repository";
import { outboxTables } from "../../src/infra/db/schema";
import { Transactions } from "../../src/infra/db/transactions";
import { createLogger } from "../../src/infra/logger";
import { relayConfigOf } from "../../src/wiring/outbox-relay";
import { runOutboxRelay } from "../../src/workers/outbox-relay/run-relay";
import { testEnv } from "./harness";

/** Short leases, polls and backoffs, so lease expiry and retries happen within a test. */
export const FAST_RELAY_ENV = {
  OUTBOX_LEASE_SECONDS: "2",
  OUTBOX_POLL_INTERVAL_MS: "50",
  RETRY_BASE_DELAY_MS: "50",
  DATA_PLATFORM_TIMEOUT_MS: "1000",
};

export function relayConfig(env: Record<string, string> = {}) {
  return relayConfigOf(loadConfig(testEnv({ ...FAST_RELAY_ENV, ...env })));
}

/** Appends events the way services will: through the writer, inside a transaction of their own. */
export function outboxWriterFor(database: DatabaseHandle) {
  const transactions = new Transactions(database.db);
  const writer = new DrizzleOutboxWriter(transactions, () => Bun.randomUUIDv7());
  return async function append<T extends OutboxTopic>(topic: T, aggregateId: string, ...types: EventTypeOf[T][]) {
    await transactions.withTransaction(() =>
      writer.append(topic, ...types.map((type, n) => ({ aggregateId, type, payload: { aggregateId, n } }))),
    );
    return eventsOf(database, topic, [aggregateId]);
  };
}

/** The rows of these aggregates, oldest first. */
export async function eventsOf(database: DatabaseHandle, topic: OutboxTopic, aggregateIds: string[]) {
  const table = outboxTables[topic] as (typeof outboxTables)["order"];
  return database.db.select().from(table).where(inArray(table.aggregateId, aggregateIds)).orderBy(asc(table.seq));
}

/**
 * A relay on this thread over `database`, as embedded mode runs it. Its batch reports and (at info level)
 * its log lines are collected for the test to read.
 */
export async function startRelay(database: DatabaseHandle, env: Record<string, string> = {}) {
  const reports: BatchReport[] = [];
  const logs: Record<string, any>[] = [];
  const config = relayConfig(env);
  const running = await runOutboxRelay({
    config,
    logger: createLogger("info", {}, { write: (line: string) => logs.push(JSON.parse(line)) }),
    database,
    observer: (report) => reports.push(report),
  });
  return { ...running, reports, logs };
}

/** Events sent according to the relay's reports. */
export const sentIn = (reports: BatchReport[]) => reports.reduce((sum, report) => sum + report.sent, 0);

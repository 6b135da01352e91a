import { hostname } from "node:os";
import type { RelayObserver } from "../domain/outbox/ports";
import { LoggedAlerts } from "../infra/alerts/alerts";
import type { Config } from "../infra/config";
import { HttpEventPublisher } from "../infra/data-platform/http-event-publisher";
import { LogEventPublisher } from "../infra/data-platform/log-event-publisher";
import type { DatabaseHandle } from "../infra/db/client";
import { DrizzleOutboxQueue } from "../infra/db/repositories/outbox-queue";
import type { Logger } from "../infra/logger";
import { OutboxRelay, type RelaySettings } from "../workers/outbox-relay/relay";

/** The settings the relay reads: all a worker thread is handed (no secrets it has no use for). */
export type RelayConfig = Pick<
  Config,
  | "DATABASE_URL"
  | "MIGRATIONS_DIR"
  | "LOG_LEVEL"
  | "DATA_PLATFORM_URL"
  | "DATA_PLATFORM_TIMEOUT_MS"
  | "ALERT_WEBHOOK_URL"
  | "OUTBOX_MAX_ATTEMPTS"
  | "OUTBOX_BATCH_SIZE"
  | "OUTBOX_POLL_INTERVAL_MS"
  | "OUTBOX_LEASE_SECONDS"
  | "RETRY_BASE_DELAY_MS"
>;

export const relayConfigOf = (config: Config): RelayConfig => ({
  DATABASE_URL: config.DATABASE_URL,
  MIGRATIONS_DIR: config.MIGRATIONS_DIR,
  LOG_LEVEL: config.LOG_LEVEL,
  DATA_PLATFORM_URL: config.DATA_PLATFORM_URL,
  DATA_PLATFORM_TIMEOUT_MS: config.DATA_PLATFORM_TIMEOUT_MS,
  ALERT_WEBHOOK_URL: config.ALERT_WEBHOOK_URL,
  OUTBOX_MAX_ATTEMPTS: config.OUTBOX_MAX_ATTEMPTS,
  OUTBOX_BATCH_SIZE: config.OUTBOX_BATCH_SIZE,
  OUTBOX_POLL_INTERVAL_MS: config.OUTBOX_POLL_INTERVAL_MS,
  OUTBOX_LEASE_SECONDS: config.OUTBOX_LEASE_SECONDS,
  RETRY_BASE_DELAY_MS: config.RETRY_BASE_DELAY_MS,
});

/**
 * A notified relay gathers notifications for up to this long, or until this many have come, before it claims,
 * so checkouts (each committing its events in transactions of its own) travel in batches of tens of events
 * instead of one tiny batch per commit: see docs/outbox.md ("Cost per event") for what it saves. An event
 * waits at most this much longer for its delivery; the bench's bound on lag is a second.
 */
export const RELAY_WAKE_DELAY_MS = 100;
export const RELAY_WAKE_AFTER_NOTIFICATIONS = 100;
/**
 * A claim of this many events makes the relay busy: it stops listening and claims every RELAY_WAKE_DELAY_MS,
 * as often as a stream of notifications would make it, without a wake-up per commit. It listens again once
 * every table's claims are below RELAY_QUIET_CLAIM (a notification then costs less than the polls would).
 */
export const RELAY_BUSY_CLAIM = 20;
export const RELAY_QUIET_CLAIM = 5;

export const relaySettingsOf = (config: RelayConfig): RelaySettings => ({
  batchSize: config.OUTBOX_BATCH_SIZE,
  leaseMs: config.OUTBOX_LEASE_SECONDS * 1000,
  pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
  wakeDelayMs: Math.min(RELAY_WAKE_DELAY_MS, config.OUTBOX_POLL_INTERVAL_MS),
  wakeAfterNotifications: RELAY_WAKE_AFTER_NOTIFICATIONS,
  // A full batch is busy whatever its size: a relay configured with small batches would otherwise never be.
  busyClaim: Math.min(RELAY_BUSY_CLAIM, config.OUTBOX_BATCH_SIZE),
  quietClaim: Math.min(RELAY_QUIET_CLAIM, config.OUTBOX_BATCH_SIZE),
  maxAttempts: config.OUTBOX_MAX_ATTEMPTS,
  retryBaseDelayMs: config.RETRY_BASE_DELAY_MS,
  publishTimeoutMs: config.DATA_PLATFORM_TIMEOUT_MS,
});

export interface RelayRuntime {
  config: RelayConfig;
  logger: Logger;
  database: DatabaseHandle;
  observer: RelayObserver;
}

/**
 * The relay's own small container, the same in a worker thread and on the main thread: queue, publisher, alerts.
 * It builds nothing of the app (a worker thread holds only this and its pool).
 */
export function wireOutboxRelay({ config, logger, database, observer }: RelayRuntime): OutboxRelay {
  return new OutboxRelay({
    queue: new DrizzleOutboxQueue(database.db),
    publisher: config.DATA_PLATFORM_URL
      ? new HttpEventPublisher(config.DATA_PLATFORM_URL, config.DATA_PLATFORM_TIMEOUT_MS)
      : new LogEventPublisher(logger),
    alerts: new LoggedAlerts(logger, config.ALERT_WEBHOOK_URL),
    logger,
    observer,
    settings: relaySettingsOf(config),
    relayId: `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`,
  });
}

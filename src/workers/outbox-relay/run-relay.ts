import { listenForOutboxEvents } from "../../infra/db/outbox-notifications";
import { type RelayRuntime, wireOutboxRelay } from "../../wiring/outbox-relay";
import type { OutboxRelay } from "./relay";

export interface RunningRelay {
  relay: OutboxRelay;
  /** Stops listening, then stops the relay (in-flight tries end, untried events are released). */
  stop(): Promise<void>;
}

/**
 * Runs the relay the same way in a worker thread and on the main thread (embedded mode): built by its wiring,
 * woken by LISTEN. Resolves once it is listening and running.
 */
export async function runOutboxRelay(runtime: RelayRuntime): Promise<RunningRelay> {
  const { config, logger, database } = runtime;
  const relay = wireOutboxRelay(runtime);
  let unlisten: (() => Promise<void>) | undefined;
  let stopped = false;
  const listen = async () => {
    try {
      unlisten = await listenForOutboxEvents(database, {
        onEvents: (topic) => relay.wake(topic),
        onListening: () => relay.wake(),
      });
    } catch (err) {
      logger.warn(
        { err, pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS },
        "outbox relay could not LISTEN; it polls instead",
      );
    }
  };
  const stopListening = async () => {
    const listening = unlisten;
    unlisten = undefined;
    await listening?.().catch((err: unknown) => logger.warn({ err }, "outbox relay could not UNLISTEN"));
  };
  await listen();
  // Busy, the relay claims on its own every wake delay: a notification per commit would only wake it for
  // nothing. Quiet again, it listens again (and, told it is listening, looks for work at once).
  let switching = Promise.resolve();
  relay.onBusyChange((busy) => {
    switching = switching.then(async () => {
      if (stopped) return;
      if (busy) await stopListening();
      else if (!unlisten) await listen();
      logger.info(
        busy ? "outbox relay busy: claims every wake delay, not listening" : "outbox relay quiet: listening again",
      );
    });
  });
  relay.start();
  logger.info(
    { dataPlatform: config.DATA_PLATFORM_URL ? "http" : "log", batchSize: config.OUTBOX_BATCH_SIZE },
    "outbox relay running",
  );
  return {
    relay,
    async stop() {
      logger.info("outbox relay stopping: finishing tries in flight, releasing the rest");
      // relay.stop() says "no new tries" before its first await, so nothing starts while we unlisten.
      stopped = true;
      await Promise.all([relay.stop(), switching.then(stopListening)]);
      logger.info("outbox relay stopped");
    },
  };
}

// The outbox relay's thread (started by start.ts when DATABASE_URL is set). It builds only what the relay
// needs: its own small pool, the queue, the publisher, alerts. It never imports the app.
import { openDatabase } from "../../infra/db/client";
import { createLogger } from "../../infra/logger";
import type { RelayConfig } from "../../wiring/outbox-relay";
import type { FromRelayWorker, ToRelayWorker } from "./messages";
import { runOutboxRelay } from "./run-relay";

declare var self: Worker;

/** Claims and outcome statements of both tables' batches in flight side by side; LISTEN has a connection of its own. */
const RELAY_POOL_SIZE = 8;

const send = (message: FromRelayWorker) => self.postMessage(message);

let stopRelay: Promise<() => Promise<void>> | undefined;

async function start(config: RelayConfig): Promise<() => Promise<void>> {
  const logger = createLogger(config.LOG_LEVEL, { thread: "outbox-relay" });
  const database = openDatabase({
    url: config.DATABASE_URL,
    poolSize: RELAY_POOL_SIZE,
    migrationsDir: config.MIGRATIONS_DIR,
  });
  const running = await runOutboxRelay({
    config,
    logger,
    database,
    observer: (report) => send({ kind: "report", report }),
  });
  return async () => {
    await running.stop();
    await database.close();
  };
}

// Installed before anything awaits: a message posted while the script loads is not lost.
self.onmessage = (event: MessageEvent<ToRelayWorker>) => {
  const message = event.data;
  if (message.kind === "start" && !stopRelay) {
    stopRelay = start(message.config);
    stopRelay.then(
      () => send({ kind: "started" }),
      (error: unknown) => send({ kind: "failed", error: String(error) }),
    );
  } else if (message.kind === "stop") {
    void (async () => {
      const stop = await (stopRelay ?? Promise.resolve(async () => {})).catch(() => async () => {});
      const stopped = stop(); // from here on the relay starts no try
      send({ kind: "stopping" });
      await stopped.catch(() => {});
      send({ kind: "stopped" });
    })();
  }
};

import type { Container } from "../../container";
import type { RelayObserver } from "../../domain/outbox/ports";
import type { Logger } from "../../infra/logger";
import { type RelayConfig, relayConfigOf } from "../../wiring/outbox-relay";
import type { FromRelayWorker, ToRelayWorker } from "./messages";
import { runOutboxRelay } from "./run-relay";

/**
 * The worker's script. Under `bun` it sits beside this file. Inside a `bun build --compile` binary every
 * module's `import.meta.url` is the binary's own (`/$bunfs/root/kicks`), and worker.ts, built as an entry point
 * of its own by scripts/build.ts (whose `root` is the repository), sits at its path from the repository root.
 */
export const RELAY_WORKER_URL = import.meta.url.includes("/$bunfs/")
  ? new URL("./src/workers/outbox-relay/worker.ts", import.meta.url)
  : new URL("./worker.ts", import.meta.url);

/** A worker that died is started again after this pause (doubling while it keeps dying before it starts). */
const RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 60_000;
/** Beyond the longest try in flight, for the worker to record outcomes and close its pool. */
const STOP_SLACK_MS = 3000;

export interface OutboxRelayHandle {
  stop(): Promise<void>;
}

export interface RelayWorker extends OutboxRelayHandle {
  /** Resolves once the worker is listening and relaying. */
  readonly started: Promise<void>;
  /** Resolves once a stopped worker starts no more tries (those in flight are still ending). */
  readonly stopping: Promise<void>;
  /** Resolves when the thread has ended, for whatever reason. */
  readonly exited: Promise<void>;
  /** Ends the thread at once, as a crash would: claimed events stay PROCESSING until their lease expires. */
  kill(): void;
}

/** One relay worker thread; its batch reports go to `observer` on this thread. */
export function spawnRelayWorker(config: RelayConfig, observer: RelayObserver, logger: Logger): RelayWorker {
  const worker = new Worker(RELAY_WORKER_URL);
  let markStarted: () => void = () => {};
  let markStartFailed: (error: Error) => void = () => {};
  let markStopping: () => void = () => {};
  let markStopped: () => void = () => {};
  const started = new Promise<void>((resolve, reject) => {
    markStarted = resolve;
    markStartFailed = reject;
  });
  const stopping = new Promise<void>((resolve) => {
    markStopping = resolve;
  });
  const stopped = new Promise<void>((resolve) => {
    markStopped = resolve;
  });
  const exited = new Promise<void>((resolve) => worker.addEventListener("close", () => resolve()));
  void exited.then(() => {
    markStartFailed(new Error("outbox relay worker exited before it started"));
    markStopping();
    markStopped();
  });
  started.catch(() => {});

  worker.addEventListener("message", (event: MessageEvent<FromRelayWorker>) => {
    const message = event.data;
    if (message.kind === "report") observer(message.report);
    else if (message.kind === "started") markStarted();
    else if (message.kind === "failed") markStartFailed(new Error(message.error));
    else if (message.kind === "stopping") markStopping();
    else if (message.kind === "stopped") markStopped();
  });
  worker.addEventListener("error", (event) => {
    logger.error({ error: (event as ErrorEvent).message }, "outbox relay worker error");
  });
  worker.postMessage({ kind: "start", config } satisfies ToRelayWorker);

  return {
    started,
    stopping,
    exited,
    kill: () => worker.terminate(),
    async stop() {
      worker.postMessage({ kind: "stop" } satisfies ToRelayWorker);
      const deadline = Bun.sleep(config.DATA_PLATFORM_TIMEOUT_MS + STOP_SLACK_MS);
      await Promise.race([stopped, deadline]);
      worker.terminate();
      await Promise.race([exited, Bun.sleep(1000)]);
    },
  };
}

/** Keeps one relay worker running: one that dies is logged and started again, backing off while it keeps dying. */
export function superviseRelayWorker(
  config: RelayConfig,
  observer: RelayObserver,
  logger: Logger,
  spawnWorker: typeof spawnRelayWorker = spawnRelayWorker,
): OutboxRelayHandle {
  let stopping = false;
  let restartDelayMs = RESTART_DELAY_MS;
  let current: RelayWorker;
  const spawn = () => {
    const worker = spawnWorker(config, observer, logger);
    current = worker;
    worker.started.then(
      () => {
        restartDelayMs = RESTART_DELAY_MS;
      },
      (err) => {
        logger.error({ err }, "outbox relay worker failed to start");
        worker.kill();
      },
    );
    void worker.exited.then(() => {
      if (stopping) return;
      logger.error({ restartInMs: restartDelayMs }, "outbox relay worker exited unexpectedly; restarting it");
      setTimeout(() => stopping || spawn(), restartDelayMs);
      restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, restartDelayMs * 2);
    });
  };
  spawn();
  return {
    async stop() {
      stopping = true;
      await current.stop();
    },
  };
}

/**
 * Starts the outbox relay for this process. With PostgreSQL it runs in a Worker thread with its own pool, so
 * publishing never competes with HTTP requests for the main thread. The embedded PGlite database lives in this
 * thread's memory and cannot be shared with another, so in embedded mode the same relay runs here.
 */
export async function startOutboxRelay(container: Container): Promise<OutboxRelayHandle> {
  const { config, logger, database, services } = container;
  const observer = services.outboxMetrics.record;
  if (database.kind === "embedded") {
    logger.info("outbox relay on the main thread (the embedded database cannot be shared with a worker thread)");
    return runOutboxRelay({ config, logger, database, observer });
  }
  const handle = superviseRelayWorker(relayConfigOf(config), observer, logger);
  logger.info("outbox relay started in a worker thread");
  return handle;
}

// The process bench/relay.ts measures: Kicks' outbox relay started exactly as the server starts it with
// PostgreSQL (superviseRelayWorker: a Bun Worker thread with its own pool, LISTEN, the log or HTTP publisher), its
// batch reports recorded on this main thread by Kicks' own OutboxMetrics, as the server's /metrics does. It serves
// only GET /sent (events reported SENT so far) so the driver knows when a burst is done without asking the database.
// Its stdout is where the log publisher writes, as the server's is.
import { Registry } from "prom-client";
import { loadConfig } from "../src/infra/config";
import { createLogger } from "../src/infra/logger";
import { OutboxMetrics } from "../src/infra/metrics/outbox";
import { relayConfigOf } from "../src/wiring/outbox-relay";
import { superviseRelayWorker } from "../src/workers/outbox-relay/start";

const config = loadConfig(process.env);
const logger = createLogger(config.LOG_LEVEL);
const metrics = new OutboxMetrics(new Registry(), async () => [], logger);
let sent = 0;
let batches = 0;
const relay = superviseRelayWorker(
  relayConfigOf(config),
  (report) => {
    metrics.record(report);
    sent += report.sent;
    if (report.sent > 0) batches++;
  },
  logger,
);

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  fetch: () => Response.json({ sent, batches }),
});

const stop = async () => {
  server.stop(true);
  await relay.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

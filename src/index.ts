// `kicks [serve|migrate|--version|--help]`, the same under `bun src/index.ts` and as the compiled binary.
import { createApp } from "./app";
import { parseCommand, USAGE, VERSION_LINE } from "./cli";
import { buildContainer } from "./container";
import { type Config, ConfigError, isSingleInstance, loadConfig } from "./infra/config";
import { type DatabaseHandle, openDatabase } from "./infra/db/client";
import { describeCreation } from "./infra/db/embedded/template";
import { makeDataDirPrivate } from "./infra/db/private-data-dir";
import { whenDatabaseAnswers } from "./infra/db/start-up-wait";
import { createLogger, type Logger } from "./infra/logger";
import { nativeRoutes } from "./routes/operations/native-routes";
import { startOutboxRelay } from "./workers/outbox-relay/start";
import { startSchedules } from "./workers/schedules";

// Below Docker's and Kubernetes' default 10 s stop timeout, so we exit before being killed.
const SHUTDOWN_GRACE_MS = 8_000;

/**
 * Embedded mode keeps the books in files of this process: what it creates is this account's only, whatever
 * umask it was started with (PGlite, which sets its own modes, is also corrected after start-up; DATA_DIR
 * itself is 0700, so nothing inside is reachable by others in any case).
 */
function keepEmbeddedFilesPrivate(config: Config): void {
  if (!config.DATABASE_URL) process.umask(0o077);
}

/**
 * A bad setting, or an embedded DATA_DIR taken by another process, stops the process with one line saying so.
 */
function orExit<T>(open: () => T): T {
  try {
    return open();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

const loadConfigOrExit = (): Config => orExit(() => loadConfig());

/** The progress line of a first embedded start (creating the database is the slow part, when it is slow). */
function announceCreation(database: DatabaseHandle, log: (message: string) => void) {
  if (database.creation) log(describeCreation(database.creation));
}

/**
 * A promise rejected with no handler, or an exception nothing caught, is a state the code did not foresee: the
 * process stops (crash-only: every step of the money path is committed before its next side effect and picked up
 * again by a retry or the recovery jobs, so a restart is the one recovery that is tested, by the crash hammer's
 * kill -9), as Bun's default does, but with one fatal JSON line saying why, a line the log pipeline keeps, instead
 * of Bun's dump on stderr only. A lost database session is no such state: it fails its requests (503) and the pool
 * reconnects (docs/operations.md, "When the process exits on its own").
 */
function exitOnUnforeseen(logger: Logger): void {
  const exit = (what: string) => (error: unknown) => {
    logger.fatal({ err: error }, `${what}: exiting`);
    // The buffered log output is written on exit (log-output.ts).
    process.exit(1);
  };
  process.on("unhandledRejection", exit("unhandled promise rejection"));
  process.on("uncaughtException", exit("uncaught exception"));
}

async function main() {
  const config = loadConfigOrExit();
  keepEmbeddedFilesPrivate(config);
  const logger = createLogger(config.LOG_LEVEL);
  exitOnUnforeseen(logger);
  const container = orExit(() => buildContainer(config, logger, { processMetrics: true }));
  const { database, services } = container;

  announceCreation(database, (message) => logger.info({ dataDir: config.DATA_DIR }, message));
  logger.info({ database: database.kind }, "applying migrations");
  await whenDatabaseAnswers("migrations", () => database.migrate(), logger);
  if (database.kind === "embedded") {
    // PGlite sets its files' modes itself (0666), whatever the umask: take group and other off them again.
    makeDataDirPrivate(config.DATA_DIR);
    logger.warn(
      { dataDir: config.DATA_DIR },
      "embedded PostgreSQL (PGlite): for trying out and single-instance use only",
    );
  }
  if (isSingleInstance(config)) {
    logger.warn("single-instance mode: no REDIS_URL, so cache and locks are in-process; do not run several instances");
  }
  if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
    const { ADMIN_EMAIL: email, ADMIN_PASSWORD: password } = config;
    const outcome = await whenDatabaseAnswers(
      "admin bootstrap",
      () => services.users.ensureAdmin(email, password),
      logger,
    );
    if (outcome === "taken") {
      logger.error(
        { email: config.ADMIN_EMAIL },
        "admin bootstrap: ADMIN_EMAIL belongs to a non-admin user; no admin was created (choose another ADMIN_EMAIL)",
      );
    } else {
      logger.info({ email: config.ADMIN_EMAIL, outcome }, "admin bootstrap");
    }
  }

  const app = createApp(container);
  // Migrations and an embedded database's first load block the loop: not a stall readiness should report.
  container.eventLoop.forget();
  // bodyLimit answers oversize bodies with a proper 413 problem; Bun's own cap (a bare 413, no request id)
  // is only a backstop against absurd uploads.
  const server = Bun.serve({
    port: config.PORT,
    // GET /healthz by Bun's router, the app's answer without the app's fixed cost (native-routes.ts).
    routes: nativeRoutes(container, app),
    fetch: app.fetch,
    maxRequestBodySize: 64 * 1024 * 1024,
  });
  logger.info({ port: server.port, docs: `http://localhost:${server.port}/docs` }, "listening");
  // The /docs script (4.35 MB) is compressed when /docs is first opened, not here: its copies (about 7 MB with
  // the compressed ones) would otherwise sit in every instance's memory whether anyone reads the docs or not.

  const stopSchedules = startSchedules(container);
  const outboxRelay = await startOutboxRelay(container);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: draining in-flight requests");
    const forced = setTimeout(() => {
      logger.error("in-flight requests did not finish in time; exiting");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    // stop(false) stops accepting and resolves once in-flight requests have answered.
    await Promise.all([server.stop(false), stopSchedules()]);
    await outboxRelay.stop();
    await container.close();
    clearTimeout(forced);
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

/** `kicks migrate`: for a release step that migrates before any instance of the new version starts. */
async function migrate() {
  const config = loadConfigOrExit();
  keepEmbeddedFilesPrivate(config);
  const database = orExit(() =>
    openDatabase({
      url: config.DATABASE_URL,
      poolSize: 1,
      dataDir: config.DATA_DIR,
      migrationsDir: config.MIGRATIONS_DIR,
    }),
  );
  announceCreation(database, console.log);
  try {
    await database.migrate();
  } finally {
    await database.close();
  }
  console.log(`migrations applied (${database.kind})`);
}

const command = parseCommand(process.argv.slice(2));
switch (command) {
  case "serve":
    await main();
    break;
  case "migrate":
    await migrate();
    break;
  case "version":
    console.log(VERSION_LINE);
    break;
  case "help":
    console.log(USAGE);
    break;
  default:
    console.error(`kicks: ${command.error}\n\n${USAGE}`);
    process.exit(2);
}

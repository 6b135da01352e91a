import { isDependencyUnavailable } from "../dependency-errors";
import type { Logger } from "../logger";

/** How long a starting process waits for PostgreSQL to answer before it gives up (exit 1, for its supervisor). */
export const START_UP_WAIT_MS = 60_000;

/**
 * Runs a start-up step that needs the database (migrations, the admin bootstrap) again while PostgreSQL cannot be
 * reached (a failover, a restart, sessions terminated), with backoff from 200 ms to 5 s and a warning per wait, for
 * at most `waitMs`. Any other error, or the last one, is thrown as it was.
 */
export async function whenDatabaseAnswers<T>(
  step: string,
  run: () => Promise<T>,
  logger: Logger,
  waitMs = START_UP_WAIT_MS,
): Promise<T> {
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const delayMs = Math.min(5_000, 100 * 2 ** attempt);
      if (!isDependencyUnavailable(err) || performance.now() - started + delayMs > waitMs) throw err;
      logger.warn({ err, step, attempt, retryInMs: delayMs }, "database unavailable at start-up; waiting");
      await Bun.sleep(delayMs);
    }
  }
}

import type { Logger } from "../infra/logger";

/**
 * Runs `job` every `intervalMs`, never two runs at once; a run that reports a full batch (true) is followed
 * at once by another. Returns a stop that waits for the run in progress.
 */
export function repeat(
  name: string,
  job: () => Promise<boolean>,
  intervalMs: number,
  logger: Logger,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  const run = async () => {
    while (!stopped && (await job())) {}
  };
  const timer = setInterval(() => {
    if (running) return;
    running = run()
      .catch((err) => logger.error({ err, job: name }, `${name} failed`))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}

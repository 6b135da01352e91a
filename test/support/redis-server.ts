import Redis from "ioredis";

// A redis-server of a test's own, for tests that stop and start Redis (the shared one is never touched).

/**
 * Starts redis-server on `port` and resolves once it answers PING. It saves only when told to (SAVE); with `dir`
 * the save goes there and a restart comes back from it, without one a restart comes back empty.
 */
export async function startRedisServer(port: number, options: { dir?: string } = {}) {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  if (options.dir) args.push("--dir", options.dir);
  const proc = Bun.spawn(["redis-server", ...args], { stdout: "ignore", stderr: "ignore" });
  const probe = new Redis(port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => {});
  for (let i = 0; i < 200; i++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return proc;
    } catch {
      probe.disconnect();
      await Bun.sleep(50);
    }
  }
  proc.kill("SIGKILL");
  throw new Error(`redis-server did not start on ${port}`);
}

/** Stops a child process: SIGTERM, then SIGKILL if it has not exited after 10 s. */
export async function stopProcess(proc: Bun.Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const stopped = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
  if (!stopped) proc.kill("SIGKILL");
  await proc.exited;
}

// Every process the bench starts and everything it creates outside itself is registered here, so that a normal
// end, a failure, Ctrl-C or the deadline all leave nothing behind: no server on a port, no database, no keys.
import { closeSync, openSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { ROOT, STARTUP_TIMEOUT_MS, TERM_GRACE_MS } from "./config";

const children = new Set<Subprocess>();
const cleanups: { label: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | undefined;

/** Registers a child so cleanup() stops it if it is still running; it is forgotten once it exits. */
export function track<P extends Subprocess>(proc: P): P {
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  return proc;
}

const isRunning = (proc: Subprocess) => proc.exitCode === null && proc.signalCode === null;

/** Registers an undo step for something created outside the process; cleanup() runs them newest first. */
export function onCleanup(label: string, run: () => Promise<unknown>): void {
  cleanups.push({ label, run });
}

export async function stopProcess(proc: Subprocess, graceMs = TERM_GRACE_MS): Promise<number | null> {
  if (isRunning(proc)) {
    proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!exited) {
      console.error(`pid ${proc.pid} ignored SIGTERM for ${graceMs} ms; sending SIGKILL`);
      proc.kill("SIGKILL");
    }
  }
  await proc.exited;
  return proc.exitCode;
}

/** Stops every child (SIGTERM, then SIGKILL), then runs the registered cleanups newest first. Idempotent. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...children].map((proc) => stopProcess(proc).catch(() => {})));
    for (const { label, run } of cleanups.reverse()) {
      try {
        await Promise.race([
          run(),
          Bun.sleep(15_000).then(() => {
            throw new Error("timed out");
          }),
        ]);
      } catch (error) {
        console.error(`cleanup "${label}" failed: ${(error as Error).message}`);
      }
    }
  })();
  return cleaning;
}

/** Runs a bench script's `main`, then the cleanups; exits with 1 (its stack printed) if it threw, else 0. */
export async function runThenExit(name: string, main: () => Promise<void>): Promise<never> {
  let exitCode = 0;
  try {
    await main();
  } catch (error) {
    console.error(`${name} failed: ${(error as Error).stack ?? error}`);
    exitCode = 1;
  } finally {
    await cleanup();
  }
  process.exit(exitCode);
}

/** True once cleanup has begun, e.g. after a signal: later failures are its consequence, not news. */
export const isCleaningUp = () => cleaning !== undefined;

export async function abort(code: number, message: string): Promise<never> {
  console.error(message);
  await cleanup();
  process.exit(code);
}

// ---------------------------------------------------------------- servers under test

export interface Server {
  name: string;
  url: string;
  proc: Subprocess;
  log: string;
}

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  if (!port) throw new Error("could not find a free port");
  return port;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Runs `bun [bunArgs] script` on a free port with stdout and stderr appended to `log`. */
export function startServer(
  name: string,
  script: string,
  env: Record<string, string | undefined>,
  log: string,
  bunArgs: string[] = [],
): Server {
  const port = freePort();
  const fd = openSync(log, "a");
  const proc = track(
    Bun.spawn(["bun", ...bunArgs, script], {
      cwd: ROOT,
      env: { ...env, PORT: String(port) },
      stdin: "ignore",
      stdout: fd,
      stderr: fd,
    }),
  );
  closeSync(fd);
  return { name, url: `http://127.0.0.1:${port}`, proc, log };
}

export async function waitHealthy(server: Server, path: string): Promise<void> {
  const until = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < until) {
    if (!isRunning(server.proc)) {
      throw new Error(
        `${server.name} exited (${server.proc.exitCode ?? server.proc.signalCode}) before answering ${path}:\n${tail(server.log)}`,
      );
    }
    try {
      const res = await fetch(server.url + path, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {}
    await Bun.sleep(200);
  }
  throw new Error(`${server.name} did not answer ${path} within ${STARTUP_TIMEOUT_MS / 1000} s:\n${tail(server.log)}`);
}

/** A server should drain and exit 0 on SIGTERM; anything else is worth knowing, with the end of its log. */
export async function stopServer(server: Server): Promise<void> {
  const exitCode = await stopProcess(server.proc);
  if (exitCode !== 0) {
    console.error(`${server.name} exited with ${exitCode ?? server.proc.signalCode} on SIGTERM:\n${tail(server.log)}`);
  }
}

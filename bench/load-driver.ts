// A closed-loop HTTP driver for flows wrk cannot express (an order, then its payment with the order's id):
// CONNECTIONS loops, one per buyer, each sending its next iteration as soon as the previous one answered.
// It runs in the bench's own process and shares the 2 cores with the server and PostgreSQL, so it measures
// its own CPU time too: that share is what the server did not get.
import { type PostgresCpu, postgresCpuSpent } from "./postgres-cpu";

export interface IterationOutcome {
  /** Whether the iteration counts as done (all its requests answered as expected). */
  ok: boolean;
  /** Status of each request, e.g. "201" or "201 200", for the report. */
  statuses: string;
}

export interface DriverReport {
  iterations: number;
  ok: number;
  seconds: number;
  iterationsPerSecond: number;
  /** ok iterations per second. */
  okPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  statuses: Record<string, number>;
  /** Request errors (no answer: connection refused, timeout), by message. */
  errors: Record<string, number>;
  /** CPU the driver itself used, as a share of one core, and per iteration. */
  driverCpu: { coreShare: number; usPerIteration: number };
  /** CPU the server process used over the run, per ok iteration (from /proc), when its pid is known. */
  serverCpuUsPerIteration?: number;
  /** The part of it its main thread used (the rest: the outbox relay's Worker, JIT, GC and runtime threads). */
  serverMainThreadCpuUsPerIteration?: number;
  /** CPU the server's database's PostgreSQL backends used, per ok iteration, when they can be read (postgres-cpu.ts). */
  postgresCpuUsPerIteration?: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);

/**
 * utime + stime of a process in µs, from /proc/<pid>/stat (clock ticks of 10 ms on Linux); of its main thread
 * alone with `mainThread` (/proc/<pid>/task/<pid>/stat).
 */
async function processCpuUs(pid: number, mainThread = false): Promise<number | undefined> {
  const stat = await Bun.file(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`)
    .text()
    .catch(() => "");
  // The command name (2nd field) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks * 10_000 : undefined;
}

/**
 * Runs `iterate(loop)` in `loops` concurrent loops for `seconds`; an iteration started before the end runs to
 * its end, so nothing is left in flight when this returns (the checks after it see every answered request).
 */
export async function drive(
  loops: number,
  seconds: number,
  iterate: (loop: number) => Promise<IterationOutcome>,
  serverPid?: number,
  readPostgresCpu?: () => Promise<PostgresCpu | undefined>,
): Promise<DriverReport> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let ok = 0;
  const cpuBefore = process.cpuUsage();
  const serverBefore = serverPid ? await processCpuUs(serverPid) : undefined;
  const mainBefore = serverPid ? await processCpuUs(serverPid, true) : undefined;
  const postgresBefore = await readPostgresCpu?.();
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      while (performance.now() < until) {
        const t0 = performance.now();
        try {
          const outcome = await iterate(loop);
          latencies.push(performance.now() - t0);
          statuses[outcome.statuses] = (statuses[outcome.statuses] ?? 0) + 1;
          if (outcome.ok) ok++;
        } catch (error) {
          const message = (error as Error).message.slice(0, 120);
          errors[message] = (errors[message] ?? 0) + 1;
          await Bun.sleep(10);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = serverPid ? await processCpuUs(serverPid) : undefined;
  const mainAfter = serverPid ? await processCpuUs(serverPid, true) : undefined;
  const postgresAfter = postgresBefore && (await readPostgresCpu?.());
  const postgresSpent = postgresBefore && postgresAfter && postgresCpuSpent(postgresBefore, postgresAfter).backends;
  latencies.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return {
    iterations: latencies.length,
    ok,
    seconds: elapsed,
    iterationsPerSecond: latencies.length / elapsed,
    okPerSecond: ok / elapsed,
    latencyMs: {
      mean: round(latencies.reduce((sum, ms) => sum + ms, 0) / Math.max(1, latencies.length)),
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies.at(-1) ?? 0),
    },
    statuses,
    errors,
    driverCpu: {
      coreShare: (cpu.user + cpu.system) / 1e6 / elapsed,
      usPerIteration: latencies.length ? (cpu.user + cpu.system) / latencies.length : 0,
    },
    serverCpuUsPerIteration:
      serverBefore !== undefined && serverAfter !== undefined && ok > 0 ? (serverAfter - serverBefore) / ok : undefined,
    serverMainThreadCpuUsPerIteration:
      mainBefore !== undefined && mainAfter !== undefined && ok > 0 ? (mainAfter - mainBefore) / ok : undefined,
    postgresCpuUsPerIteration: postgresSpent && ok > 0 ? (postgresSpent.user + postgresSpent.system) / ok : undefined,
  };
}

// PostgreSQL's own CPU time, read from /proc: the backends serving one database, and PostgreSQL's background
// processes (walwriter, checkpointer, ...). Only when PostgreSQL runs on this machine and its processes are
// readable from here; undefined otherwise (another machine or container).
import { readFileSync } from "node:fs";
import postgres from "postgres";

/** Clock ticks of utime and stime (fields 14 and 15 of /proc/<pid>/stat). */
export type Ticks = { user: number; system: number };

export interface PostgresCpu {
  backends: Map<number, Ticks>;
  background: Map<number, Ticks>;
  hz: number;
}

let clockTicksPerSecond: number | undefined;

/** CPU ticks, now, of the backends of `databaseName` and of PostgreSQL's background processes. */
export async function postgresCpu(adminUrl: string, databaseName: string): Promise<PostgresCpu | undefined> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ pid: number; datname: string | null; backend_type: string }[]>`
      select pid, datname, backend_type from pg_stat_activity where pid <> pg_backend_pid()`;
    const ticksOf = (pid: number): Ticks => {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from the 3rd on
      return { user: Number(fields[11]), system: Number(fields[12]) };
    };
    const backends = new Map<number, Ticks>();
    const background = new Map<number, Ticks>();
    for (const row of rows) {
      if (row.datname === databaseName) backends.set(row.pid, ticksOf(row.pid));
      else if (row.backend_type !== "client backend") background.set(row.pid, ticksOf(row.pid));
    }
    if (backends.size === 0) return undefined;
    clockTicksPerSecond ??= Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;
    return { backends, background, hz: clockTicksPerSecond };
  } catch {
    return undefined;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * µs of CPU between two readings, user and system, of the database's backends and of the background processes.
 * A backend that began in between counts whole; one that ended in between is lost (a pool's connections live on).
 */
export function postgresCpuSpent(started: PostgresCpu, ended: PostgresCpu) {
  const spent = (after: Map<number, Ticks>, before: Map<number, Ticks>) => {
    const sum = { user: 0, system: 0 };
    for (const [pid, ticks] of after) {
      sum.user += ((ticks.user - (before.get(pid)?.user ?? 0)) * 1_000_000) / ended.hz;
      sum.system += ((ticks.system - (before.get(pid)?.system ?? 0)) * 1_000_000) / ended.hz;
    }
    return sum;
  };
  return { backends: spent(ended.backends, started.backends), background: spent(ended.background, started.background) };
}

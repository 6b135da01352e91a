import postgres from "postgres";

/**
 * A row lock held by a session of the test's own on the run's PostgreSQL server: the request that needs the
 * row waits inside its transaction (after whatever it did before) until the test lets go. No mock: the wait is
 * PostgreSQL's own.
 */
export async function holdRowLock(url: string, lockStatement: (sql: postgres.Sql) => Promise<unknown>) {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const session = await sql.reserve();
  await session`begin`;
  await lockStatement(session as unknown as postgres.Sql);
  const [me] = await session<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const pid = me?.pid as number;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await session`commit`;
    session.release();
  };
  return {
    pid,
    /** Runs `statement` in the session holding the lock, before it lets go (its effect commits with the release). */
    async take(statement: (sql: postgres.Sql) => Promise<unknown>) {
      await statement(session as unknown as postgres.Sql);
    },
    /** Lets the waiting requests go on (the session stays open for waitingFor and connected). */
    release,
    /** Closes the test's sessions (releasing the lock first if it is still held). */
    async end() {
      await release();
      await sql.end();
    },
    /** The backends waiting for `blocker` (this session when omitted), as PostgreSQL sees them now. */
    async waitingFor(blocker = pid): Promise<number[]> {
      const rows = await sql<{ pid: number }[]>`
        select pid from pg_stat_activity where ${blocker}::int = any(pg_blocking_pids(pid))`;
      return rows.map((row) => row.pid);
    },
    /** Whether backend `pid` is still connected (a killed client's backend goes once it notices). */
    async connected(backend: number): Promise<boolean> {
      const rows = await sql`select 1 from pg_stat_activity where pid = ${backend}`;
      return rows.length > 0;
    },
  };
}

/**
 * Resolves with `answer`'s value, or with "waits" as soon as `waiting()` turns true first: how a test tells a
 * request that answers at once from one that queues behind another transaction, without timing anything.
 */
export async function answersWithoutWaiting<T>(
  answer: Promise<T>,
  waiting: () => Promise<boolean>,
): Promise<T | "waits"> {
  let done = false;
  const answered = answer.finally(() => {
    done = true;
  });
  const watch = (async () => {
    while (!done) {
      if (await waiting()) return "waits" as const;
      await Bun.sleep(25);
    }
    return answered;
  })();
  return Promise.race([answered, watch]);
}

import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import net from "node:net";
import { join } from "node:path";
import { freshPostgresDatabase, hasPostgres, testEnv } from "../support/harness";
import { freePort, logLines, waitForHealth } from "../support/processes";

setDefaultTimeout(120_000);

const root = join(import.meta.dir, "../..");

/**
 * A TCP hop to PostgreSQL that hangs up on every connection for its first `refuseMs` (a failover, a restart, an
 * operator's pg_terminate_backend), then carries traffic through.
 */
async function flakyHop(databaseUrl: string, refuseMs: number) {
  const target = new URL(databaseUrl);
  const refuseUntil = performance.now() + refuseMs;
  let refused = 0;
  const sockets = new Set<net.Socket>();
  const hop = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    if (performance.now() < refuseUntil) {
      refused++;
      client.destroy();
      return;
    }
    const server = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(server);
    server.on("close", () => sockets.delete(server));
    client.pipe(server).pipe(client);
    client.on("error", () => server.destroy());
    server.on("error", () => client.destroy());
    client.on("close", () => server.destroy());
    server.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => hop.listen(0, "127.0.0.1", resolve));
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String((hop.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    refused: () => refused,
    close: () => {
      for (const socket of sockets) socket.destroy();
      hop.close();
    },
  };
}

// A process that starts while PostgreSQL drops its sessions (the crash hammer restarts instances while it
// terminates connections) used to exit 1 on the first refused query of its migrations: with a supervisor that
// is a restart loop, without one an instance fewer. It waits for the database instead, saying so.
describe.skipIf(!hasPostgres)("a server started while PostgreSQL hangs up on it", () => {
  const hops: { close(): void }[] = [];
  afterAll(() => {
    for (const hop of hops) hop.close();
  });

  it("waits for the database, logging each wait, and then serves", async () => {
    const hop = await flakyHop(await freshPostgresDatabase(), 2_500);
    hops.push(hop);
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = testEnv({ DATABASE_URL: hop.url, PORT: String(port), LOG_LEVEL: "info" });
    delete env.REDIS_URL;
    const server = Bun.spawn(["bun", "src/index.ts"], { cwd: root, env, stdout: "pipe", stderr: "pipe" });
    try {
      await waitForHealth(base, server);
      expect(hop.refused()).toBeGreaterThan(0);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    } finally {
      server.kill("SIGTERM");
      await server.exited;
    }
    const waits = (await logLines(server.stdout)).filter(
      (line) => line.msg === "database unavailable at start-up; waiting",
    );
    expect(waits.length).toBeGreaterThan(0);
    expect(waits[0]).toMatchObject({ step: "migrations" });
  });
});

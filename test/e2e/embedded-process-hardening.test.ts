import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/processes";

// A real server process (a fresh embedded PostgreSQL, an argon2 admin): on a busy CI machine its start-up alone
// has taken over a minute.
setDefaultTimeout(240_000);

const root = join(import.meta.dir, "../..");
const scratch = mkdtempSync(join(tmpdir(), "kicks-hardening-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `bun src/index.ts` in embedded mode, started with the most careless umask there is. */
function start(dataDir: string, port: number) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(DATABASE_URL|REDIS_URL|JWT_SECRET|ADMIN_)/.test(name)),
  );
  return Bun.spawn(["sh", "-c", "umask 000 && exec bun src/index.ts"], {
    cwd: root,
    env: {
      ...clean,
      LOG_LEVEL: "warn",
      PORT: String(port),
      DATA_DIR: dataDir,
      ADMIN_EMAIL: "root@test.kicks",
      ADMIN_PASSWORD: "root-password-for-hardening",
    },
    stdout: "ignore",
    stderr: "pipe",
  });
}

/** Start-up initialises a PGlite database and hashes an admin password: slow on a busy machine. */
async function waitUntilHealthy(base: string, child: Bun.Subprocess): Promise<void> {
  for (let i = 0; i < 2000 && child.exitCode === null; i++) {
    if (
      await fetch(`${base}/healthz`).then(
        (res) => res.ok,
        () => false,
      )
    )
      return;
    await Bun.sleep(100);
  }
  throw new Error(`server did not become healthy (exit code ${child.exitCode})`);
}

/** Every path under `dir` with group or other permissions, as `path mode`. */
function notPrivate(dir: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    const mode = statSync(path).mode;
    if ((mode & 0o077) !== 0) found.push(`${path} ${(mode & 0o777).toString(8)}`);
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(dir);
  return found;
}

describe("an embedded server process under hostile input", () => {
  const dataDir = join(scratch, "data");
  // What an earlier version left behind: a world-writable data directory and secret.
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, "jwt-secret"), "an-old-secret-that-was-written-world-writable");
  chmodSync(join(dataDir, "jwt-secret"), 0o666);
  chmodSync(dataDir, 0o777);

  it("answers statistics for year 9999 with 400 at once, stays healthy and stops on SIGTERM", async () => {
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = start(dataDir, port);
    try {
      await waitUntilHealthy(base, server);
      const login = await fetch(`${base}/api/v1/auth/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: "root@test.kicks", password: "root-password-for-hardening" }),
      });
      const { accessToken } = (await login.json()) as { accessToken: string };
      // Before the fix this request never answered and the process spun at full CPU, deaf to SIGTERM.
      const stats = await fetch(`${base}/api/v1/stats/sales?from=9999-12-31&to=9999-12-31`, {
        headers: { Authorization: `Bearer ${accessToken}` },
        signal: AbortSignal.timeout(10_000),
      });
      expect(stats.status).toBe(400);
      expect(((await stats.json()) as { code: string }).code).toBe("VALIDATION_FAILED");
      const health = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5_000) });
      expect(health.status).toBe(200);
      server.kill("SIGTERM");
      expect(await server.exited).toBe(0);
    } finally {
      server.kill("SIGKILL");
    }
  });

  it("keeps DATA_DIR 0700 and nothing in it open to group or others, even when started with umask 000", () => {
    expect((statSync(dataDir).mode & 0o777).toString(8)).toBe("700");
    expect(readdirSync(join(dataDir, "pglite")).length).toBeGreaterThan(10);
    expect(notPrivate(dataDir)).toEqual([]);
  });
});

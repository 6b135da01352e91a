import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, logLines, waitForHealth } from "../support/processes";

// It starts a server process (PGlite, migrations, an argon2 admin): more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(120_000);

// The real entry point as operators run it: `bun src/index.ts` with the embedded default.
const root = join(import.meta.dir, "../..");
const dataDir = mkdtempSync(join(tmpdir(), "kicks-process-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function start(env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(DATABASE_URL|REDIS_URL|JWT_SECRET|ADMIN_)/.test(name)),
  );
  return Bun.spawn(["bun", "src/index.ts"], {
    cwd: root,
    env: { ...clean, LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
}

describe("the server process", () => {
  it("starts embedded with no configuration, migrates, bootstraps the admin and stops cleanly on SIGTERM", async () => {
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = start({
      PORT: String(port),
      DATA_DIR: dataDir,
      ADMIN_EMAIL: "root@test.kicks",
      ADMIN_PASSWORD: "root-password",
    });
    try {
      await waitForHealth(base, server);
      expect((await fetch(`${base}/docs`)).status).toBe(200);
      // A request in flight when SIGTERM arrives still gets its answer.
      const login = fetch(`${base}/api/v1/auth/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: "root@test.kicks", password: "root-password" }),
      });
      await Bun.sleep(20);
      server.kill("SIGTERM");
      const res = await login;
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).user.role).toBe("ADMIN");
      expect(await server.exited).toBe(0);
    } finally {
      server.kill("SIGKILL");
    }
    const lines = await logLines(server.stdout);
    expect(
      lines.some(
        (l) =>
          l.msg ===
          "single-instance mode: no REDIS_URL, so cache and locks are in-process; do not run several instances",
      ),
    ).toBe(true);
    expect(lines.some((l) => l.msg === "request" && l.requestId && l.route === "/api/v1/auth/login")).toBe(true);
    expect(lines.at(-1)?.msg).toBe("stopped");
    expect(JSON.stringify(lines)).not.toContain("root-password");
  });

  it("refuses to start on a bad setting with one line naming the variable", async () => {
    const server = start({ PORT: "not-a-port", DATA_DIR: dataDir });
    expect(await server.exited).toBe(1);
    const stderr = (await new Response(server.stderr).text()).trim();
    expect(stderr.split("\n")).toHaveLength(1);
    expect(stderr).toContain("PORT");
  });
});

import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished, freePort, logLines, waitForHealth } from "../support/processes";

// Real server processes on one DATA_DIR, one after the other: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(120_000);

const root = join(import.meta.dir, "../..");
const scratch = mkdtempSync(join(tmpdir(), "kicks-first-start-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function start(dataDir: string) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(DATABASE_URL|REDIS_URL|JWT_SECRET|ADMIN_|MIGRATIONS_DIR)/.test(name),
    ),
  );
  const port = freePort();
  const child = Bun.spawn(["bun", "src/index.ts"], {
    cwd: root,
    env: { ...clean, LOG_LEVEL: "info", PORT: String(port), DATA_DIR: dataDir },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

describe("a first embedded start", () => {
  it("creates the database from the template bun install prepared, and says so while it does", async () => {
    const dataDir = join(scratch, "fresh");
    const { child, base } = start(dataDir);
    try {
      await waitForHealth(base, child);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await child.exited).toBe(0);
    const messages = (await logLines(child.stdout)).map((line) => line.msg);
    // The postinstall script writes the template (`bun install`); without it this start takes the slow way.
    expect(messages).toContain("first start: creating the embedded database from its template (about a second)");
    expect(messages.indexOf("listening")).toBeGreaterThan(messages.indexOf("applying migrations"));
    expect(existsSync(join(dataDir, "kicks.lock"))).toBe(false);
  });

  it("refuses a second process on the same DATA_DIR with one line, and takes over the lock of a killed one", async () => {
    const dataDir = join(scratch, "shared");
    const first = start(dataDir);
    try {
      await waitForHealth(first.base, first.child);
      const second = start(dataDir);
      const refused = await finished(second.child);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr.trim().split("\n")).toHaveLength(1);
      expect(refused.stderr).toContain(`is in use by process ${first.child.pid}`);
      // The first one was not disturbed.
      expect((await fetch(`${first.base}/readyz`)).status).toBe(200);
    } finally {
      first.child.kill("SIGKILL");
    }
    await first.child.exited;
    expect(existsSync(join(dataDir, "kicks.lock"))).toBe(true);

    const third = start(dataDir);
    try {
      await waitForHealth(third.base, third.child);
    } finally {
      third.child.kill("SIGTERM");
    }
    expect(await third.child.exited).toBe(0);
    const messages = (await logLines(third.child.stdout)).map((line) => line.msg);
    expect(messages.some((m) => m.startsWith("first start"))).toBe(false);
  });
});

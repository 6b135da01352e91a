import { describe, expect, it, setDefaultTimeout } from "bun:test";
import { join } from "node:path";
import { hasPostgres, testEnv } from "../support/harness";
import { freePort, logLines, waitForHealth } from "../support/processes";

setDefaultTimeout(120_000);

const root = join(import.meta.dir, "../..");

// An unhandled rejection stops the process (crash-only, docs/operations.md "When the process exits on its own"):
// Bun's default did so with a dump on stderr only, which the log pipeline does not keep; the exit is now one fatal
// JSON line on stdout with the error, then exit code 1.
describe.skipIf(!hasPostgres)("a server process meeting an unhandled rejection", () => {
  it("logs one fatal line with the error, then exits with 1", async () => {
    const port = freePort();
    const server = Bun.spawn(["bun", "--preload", "./test/support/fixtures/unhandled-on-signal.ts", "src/index.ts"], {
      cwd: root,
      env: { ...process.env, ...testEnv({ PORT: String(port), LOG_LEVEL: "info" }) },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      await waitForHealth(`http://127.0.0.1:${port}`, server);
      server.kill("SIGUSR2");
      expect(await server.exited).toBe(1);
    } finally {
      server.kill("SIGKILL");
    }
    const last = (await logLines(server.stdout)).at(-1);
    expect(last).toMatchObject({
      level: "fatal",
      msg: "unhandled promise rejection: exiting",
      err: { type: "Error", message: "a promise nobody awaited", code: "TEST_UNHANDLED" },
    });
    expect(last?.err.stack).toContain("unhandled-on-signal.ts");
  });
});

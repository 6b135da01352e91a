import { describe, expect, it } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");

/** Runs a tiny program that logs through the real logger (stdout buffered per event-loop turn). */
async function run(script: string): Promise<string[]> {
  const proc = Bun.spawn(["bun", "-e", script], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  expect(await proc.exited).toBe(0);
  return out.trim().split("\n");
}

describe("the buffered log output", () => {
  it("writes every line, in order, when the process exits straight after logging", async () => {
    const lines = await run(`
      import { createLogger } from "./src/infra/logger";
      const log = createLogger("info");
      for (let i = 0; i < 5000; i++) log.info({ i }, "line");
      process.exit(0);
    `);
    expect(lines).toHaveLength(5000);
    expect(lines.map((line) => JSON.parse(line).i)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
  });

  it("writes a line without waiting for more to come", async () => {
    const lines = await run(`
      import { createLogger } from "./src/infra/logger";
      const log = createLogger("info");
      log.info("first");
      await Bun.sleep(50);
      const fs = await import("node:fs");
      // Written by the logger already (the turn ended), so it comes before this raw line.
      fs.writeSync(1, "raw\\n");
      log.info("second");
    `);
    expect(lines.map((line) => (line === "raw" ? line : JSON.parse(line).msg))).toEqual(["first", "raw", "second"]);
  });
});

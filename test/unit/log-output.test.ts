import { describe, expect, it } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bufferedOutput } from "../../src/infra/log-output";

describe("buffered log output", () => {
  it("writes every line, in order and byte for byte (non-ASCII included), once the turn ends or on flush", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "log-output-")), "out.log");
    const fd = openSync(file, "w");
    try {
      const output = bufferedOutput(fd);
      const lines = ['{"a":1}\n', '{"path":"/é/ü/\\u2028"}\n', `{"big":"${"x".repeat(70_000)}"}\n`, "ok ✓\n"];
      for (const line of lines.slice(0, 2)) output.write(line);
      expect(readFileSync(file, "utf8")).toBe("");
      await new Promise((resolve) => setImmediate(resolve));
      expect(readFileSync(file, "utf8")).toBe(lines.slice(0, 2).join(""));
      for (const line of lines.slice(2)) output.write(line);
      output.flush();
      expect(readFileSync(file, "utf8")).toBe(lines.join(""));
    } finally {
      closeSync(fd);
    }
  });
});

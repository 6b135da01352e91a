import { describe, expect, it } from "bun:test";
import { Glob } from "bun";

const ROOT = `${import.meta.dir}/../..`;

// The domain reads the time and waits only through the Clock port, so every rule about time can be tested with a
// clock the test moves, and no rule depends on the machine it runs on.
const READS_THE_MACHINE_CLOCK = [
  { name: "Date.now()", pattern: /\bDate\.now\(/ },
  { name: "new Date() (the current time)", pattern: /\bnew Date\(\s*\)/ },
  { name: "Bun.sleep", pattern: /\bBun\.sleep\(/ },
  { name: "setTimeout", pattern: /\bsetTimeout\(/ },
];

/** The code of a file without its comments, so a comment may still say `Date.now()`. */
const withoutComments = (text: string) =>
  text.replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, "")).replace(/(^|[^:])\/\/.*$/gm, "$1");

describe("time in the domain", () => {
  it("goes through the Clock port: no Date.now(), new Date() or Bun.sleep under src/domain", async () => {
    const offences: string[] = [];
    for await (const path of new Glob("src/domain/**/*.ts").scan(ROOT)) {
      const lines = withoutComments(await Bun.file(`${ROOT}/${path}`).text()).split("\n");
      lines.forEach((line, index) => {
        for (const { name, pattern } of READS_THE_MACHINE_CLOCK) {
          if (pattern.test(line)) offences.push(`${path}:${index + 1} ${name}`);
        }
      });
    }
    expect(offences).toEqual([]);
  });
});

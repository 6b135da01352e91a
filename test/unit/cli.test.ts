import { describe, expect, it } from "bun:test";
import { version } from "../../package.json";
import { parseCommand, VERSION_LINE } from "../../src/cli";

describe("kicks [command]", () => {
  it("serves when no command is named, as `bun src/index.ts` always has", () => {
    expect(parseCommand([])).toBe("serve");
    expect(parseCommand(["serve"])).toBe("serve");
  });

  it.each([
    [["migrate"], "migrate"],
    [["--version"], "version"],
    [["-v"], "version"],
    [["version"], "version"],
    [["--help"], "help"],
    [["-h"], "help"],
  ])("reads %p as %p", (args, command) => {
    expect(parseCommand(args)).toBe(command as ReturnType<typeof parseCommand>);
  });

  it.each([[["migrat"]], [["constructor"]], [["--port", "3000"]], [["serve", "--port"]], [["migrate", "now"]]])(
    "refuses %p instead of guessing",
    (args) => {
      expect(parseCommand(args)).toEqual({ error: expect.any(String) });
    },
  );

  it("reports the package version", () => {
    expect(VERSION_LINE).toStartWith(`kicks ${version} `);
  });
});

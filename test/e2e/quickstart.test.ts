import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scripts } from "../../package.json";
import { freshPostgresDatabase, TEST_JWT_SECRET } from "../support/harness";
import { finished, freePort, waitForHealth } from "../support/processes";

// docs/quickstart.md, run as written: its `sh server` block says how the server starts (this starts it so, with
// this run's PostgreSQL and Redis when it has them), every `sh` block then runs in order in one bash, and the JSON
// under a block is what that block must print (the fields shown). So the walkthrough cannot drift from the code.
setDefaultTimeout(180_000);

const { services } = globalThis.kicksTest;
const root = join(import.meta.dir, "../..");
const markdown = readFileSync(join(root, "docs/quickstart.md"), "utf8");

interface Block {
  info: string;
  code: string;
}
const blocks: Block[] = [...markdown.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map((match) => ({
  info: (match[1] ?? "").trim(),
  code: match[2] ?? "",
}));

/** The shell steps, each with the JSON values it must print (the `json` block right after it, if any). */
const steps: { code: string; expected: unknown[] | undefined }[] = [];
for (const block of blocks) {
  if (block.info === "sh") steps.push({ code: block.code, expected: undefined });
  else if (block.info === "json") {
    const step = steps.at(-1);
    if (!step || step.expected) throw new Error(`a json block follows no sh block:\n${block.code}`);
    step.expected = jsonValues(block.code);
  }
}

/** The JSON values of a text holding several one after the other (jq's output). */
function jsonValues(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === "{" || char === "[") {
      if (depth++ === 0) start = i;
    } else if ((char === "}" || char === "]") && --depth === 0) {
      values.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return values;
}

/** `NAME=value … bun run start`: the variables, and a check that the command is the start script. */
function serverCommand(): Record<string, string> {
  const server = blocks.filter((block) => block.info === "sh server");
  expect(server).toHaveLength(1);
  const words = (server[0]?.code ?? "").trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (words[0]?.includes("=")) {
    const [name, ...value] = (words.shift() as string).split("=");
    env[name as string] = value.join("=");
  }
  expect(words).toEqual(["bun", "run", "start"]);
  return env;
}

const scratch = mkdtempSync(join(tmpdir(), "kicks-quickstart-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("docs/quickstart.md", () => {
  it("walks a buyer from sign-up to refund exactly as written, against a fresh server", async () => {
    expect(steps.length).toBeGreaterThanOrEqual(8);
    expect(steps.filter((step) => step.expected).length).toBeGreaterThanOrEqual(8);
    const documentedEnv = serverCommand();
    expect(Object.keys(documentedEnv).sort()).toEqual(["ADMIN_EMAIL", "ADMIN_PASSWORD"]);

    const port = freePort();
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^(DATABASE_URL|REDIS_|JWT_SECRET|ADMIN_|DATA_DIR)/.test(name)),
    );
    const env: Record<string, string | undefined> = {
      ...clean,
      ...documentedEnv,
      PORT: String(port),
      LOG_LEVEL: "warn",
      DATA_DIR: join(scratch, "data"),
    };
    if (services.databaseUrl)
      Object.assign(env, { DATABASE_URL: await freshPostgresDatabase(), JWT_SECRET: TEST_JWT_SECRET });
    if (services.redisUrl) {
      Object.assign(env, { REDIS_URL: services.redisUrl, REDIS_KEY_PREFIX: `kicks-quickstart-${Date.now()}:` });
    }
    // What `bun run start` runs, started directly so that SIGTERM reaches the server itself.
    // Its leading NAME=value words (the runtime's settings) go into the environment, as the shell would put them.
    const words = scripts.start.split(" ");
    while (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] ?? "")) {
      const [name, ...value] = (words.shift() as string).split("=");
      env[name as string] = value.join("=");
    }
    const [bun, entry] = words;
    const server = Bun.spawn([bun as string, entry as string], { cwd: root, env, stdout: "pipe", stderr: "pipe" });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitForHealth(base, server);
      const marker = (i: number) => `@@quickstart-step-${i}@@`;
      const script = ["set -euo pipefail", ...steps.flatMap((step, i) => [`echo '${marker(i)}'`, step.code])].join(
        "\n",
      );
      const shell = Bun.spawn(["bash", "-c", script], {
        cwd: scratch,
        env: { PATH: process.env.PATH, KICKS: base },
        stdout: "pipe",
        stderr: "pipe",
      });
      const { stdout, stderr, exitCode } = await finished(shell);
      expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" });
      for (const [i, step] of steps.entries()) {
        const output = stdout.split(marker(i))[1]?.split(`@@quickstart-step-${i + 1}@@`)[0] ?? "";
        if (!step.expected) continue;
        const printed = jsonValues(output);
        expect({ step: step.code, printed }).toMatchObject({ step: step.code, printed: step.expected });
        expect(printed).toHaveLength(step.expected.length);
      }
    } finally {
      server.kill("SIGTERM");
      await server.exited;
    }
  });
});

import { afterAll, describe, expect, it } from "bun:test";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestApp } from "../support/harness";
import { finished } from "../support/processes";

// The document is a deliverable of its own: client authors generate code from it. These checks hold for every
// route, including those added later, so a new route must name its operation and state who may call it.
const root = join(import.meta.dir, "../..");
const t = await createTestApp();
const scratch = mkdtempSync(join(tmpdir(), "kicks-openapi-"));
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await t.close();
});

const document = (await t.get("/openapi.json")).body;
const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
const operations = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([method]) => HTTP_METHODS.has(method))
    .map(([method, operation]) => ({ path, method, operation, name: `${method.toUpperCase()} ${path}` })),
);
const documentFile = join(scratch, "openapi.json");
writeFileSync(documentFile, JSON.stringify(document, null, 2));

/** Runs a tool of node_modules/.bin with Bun, in the scratch folder, with no telemetry or update check. */
function tool(args: string[]) {
  const child = Bun.spawn(["bun", "--bun", ...args], {
    cwd: scratch,
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  return finished(child);
}
const bin = (name: string) => join(root, "node_modules", ".bin", name);

describe("the OpenAPI document", () => {
  it("names every operation, each name used once", () => {
    expect(operations.length).toBeGreaterThan(0);
    const unnamed = operations.filter(({ operation }) => typeof operation.operationId !== "string");
    expect(unnamed.map(({ name }) => `${name} has no operationId`)).toEqual([]);
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("names each operation after its route constant (`export const chargeBalance = createRoute(…)`)", async () => {
    const files = [...new Bun.Glob("src/routes/**/*.routes.ts").scanSync({ cwd: root })];
    const misnamed: string[] = [];
    let routes = 0;
    for (const file of files) {
      const module: Record<string, any> = await import(join(root, file));
      for (const [name, value] of Object.entries(module)) {
        if (!value || typeof value !== "object" || !("method" in value && "path" in value && "responses" in value))
          continue;
        routes++;
        if (value.operationId !== name) misnamed.push(`${file}: ${name} has operationId ${value.operationId}`);
      }
    }
    expect(misnamed).toEqual([]);
    expect(routes).toBe(operations.length);
  });

  it("states who may call each operation, and answers as stated: 401 without a token unless public", async () => {
    const wrong: string[] = [];
    for (const { path, method, operation, name } of operations) {
      const security = operation.security;
      const isPublic = Array.isArray(security) && security.length === 0;
      if (!isPublic && JSON.stringify(security) !== JSON.stringify([{ Bearer: [] }])) {
        wrong.push(
          `${name}: security must be [{ Bearer: [] }] (bearerAuth) or [] (public), not ${JSON.stringify(security)}`,
        );
        continue;
      }
      const url = path.replaceAll(/\{[^}]+\}/g, Bun.randomUUIDv7());
      const res = await t.request(method.toUpperCase(), url, operation.requestBody ? {} : undefined);
      if (isPublic && res.status === 401) wrong.push(`${name} is documented as public but answers 401 without a token`);
      if (!isPublic && res.status !== 401) wrong.push(`${name} requires a token but answers ${res.status} without one`);
    }
    expect(wrong).toEqual([]);
  });

  it("passes Redocly's recommended rules with no error or warning", async () => {
    copyFileSync(join(root, ".redocly.lint-ignore.yaml"), join(scratch, ".redocly.lint-ignore.yaml"));
    const { stdout, stderr, exitCode } = await tool([bin("redocly"), "lint", "--format=json", "openapi.json"]);
    const report = JSON.parse(stdout.slice(stdout.indexOf("{")));
    const { errors, warnings, ignored } = report.totals;
    console.log(
      `[openapi] redocly lint: ${errors} errors, ${warnings} warnings, ${ignored} accepted in .redocly.lint-ignore.yaml`,
    );
    const problems = report.problems.map(
      (p: any) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? "?"}`,
    );
    expect({ problems, exitCode }).toEqual({ problems: [], exitCode: 0 });
    expect(stderr).not.toContain("error");
  });

  it("generates TypeScript types (openapi-typescript) that compile and hold every operation", async () => {
    const generated = await tool([join(root, "scripts", "openapi-types.ts"), "openapi.json", "kicks-api.ts"]);
    expect(generated.exitCode).toBe(0);
    // A client that names every path and operation of the document: it compiles only if the types have them all.
    const uses = operations.map(
      ({ path, method, operation }, i) =>
        `type Path${i} = paths[${JSON.stringify(path)}][${JSON.stringify(method)}];\n` +
        `type Operation${i} = operations[${JSON.stringify(operation.operationId)}];`,
    );
    const all = operations.map((_, i) => `Path${i} | Operation${i}`).join(" | ");
    writeFileSync(
      join(scratch, "client.ts"),
      `import type { operations, paths } from "./kicks-api";\n${uses.join("\n")}\nexport type Every = ${all};\n`,
    );
    const compiled = Bun.spawnSync(
      [bin("tsc"), "--noEmit", "--strict", "--target", "esnext", "--module", "esnext", "client.ts", "kicks-api.ts"],
      { cwd: scratch, stdout: "pipe", stderr: "pipe" },
    );
    expect(compiled.stdout.toString() + compiled.stderr.toString()).toBe("");
    expect(compiled.exitCode).toBe(0);
  });
});

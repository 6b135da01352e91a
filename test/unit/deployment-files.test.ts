import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_VARIABLES } from "../../src/infra/config";
import { RUNTIME_ENV } from "../../src/infra/runtime-env";
import { dockerInstructions } from "../support/dockerfile";

// There is no Docker engine in CI: these read the Dockerfile and compose.yaml the way Docker would and check
// what a deployment relies on. The binary itself (and the Dockerfile's health check) is run in test/e2e/binary.test.ts.
const root = join(import.meta.dir, "../..");
const read = (file: string) => readFileSync(join(root, file), "utf8");

const instructions = dockerInstructions(read("Dockerfile"));
const lastStage = Math.max(...instructions.map((i) => i.stage));
const runtime = instructions.filter((i) => i.stage === lastStage);
const arg = (keyword: string) => runtime.find((i) => i.keyword === keyword)?.args;
const runtimeEnv = Object.fromEntries(
  runtime
    .filter((i) => i.keyword === "ENV")
    .flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])),
);
const entrypoint: string[] = JSON.parse(arg("ENTRYPOINT") ?? "[]");

const compose: any = Bun.YAML.parse(read("compose.yaml"));
const app = compose.services.app;

/** Names assigned in .env.example, commented-out examples included. */
const envExample = [...read(".env.example").matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);

describe("the Dockerfile", () => {
  it("installs from the lockfile and compiles in a build stage, and ships only the binary", () => {
    const build = instructions.filter((i) => i.stage === 0);
    expect(lastStage).toBeGreaterThan(0);
    expect(build.some((i) => i.keyword === "RUN" && /bun install --frozen-lockfile/.test(i.args))).toBe(true);
    expect(build.some((i) => i.keyword === "RUN" && i.args === "bun run build")).toBe(true);
    const copies = runtime.filter((i) => i.keyword === "COPY");
    expect(copies.map((i) => i.args)).toEqual([`--from=build /src/dist/kicks ${entrypoint[0]}`]);
    expect(runtime.map((i) => i.args).join("\n")).not.toContain("drizzle");
  });

  it("runs as a non-root user, exposes PORT, checks /healthz with the binary and stops on SIGTERM", () => {
    expect(arg("USER")).toBeDefined();
    expect(arg("USER")).not.toMatch(/^(root|0)(:|$)/);
    expect(arg("EXPOSE")).toBe(runtimeEnv.PORT);
    const healthcheck = arg("HEALTHCHECK") ?? "";
    expect(healthcheck).toContain(" CMD ");
    expect(healthcheck).toContain("/healthz");
    expect(healthcheck).toContain(entrypoint[0] as string);
    expect(arg("STOPSIGNAL")).toBe("SIGTERM");
    expect(entrypoint).toEqual(["/app/kicks"]);
  });

  it("starts the runtime with its own settings (src/infra/runtime-env.ts), as `bun run start` and the bench do", () => {
    const start: string = JSON.parse(read("package.json")).scripts.start;
    for (const [name, value] of Object.entries(RUNTIME_ENV)) {
      expect(runtimeEnv[name]).toBe(value);
      expect(start).toContain(`${name}=${value} `);
    }
    expect(read("bench/run.ts")).toContain("...RUNTIME_ENV,");
  });

  it("pulls every base image by its tag and, once pinned, by digest (scripts/pin-base-images.sh pins them)", () => {
    const args = Object.fromEntries(
      instructions
        .filter((i) => i.keyword === "ARG" && i.stage === -1)
        .map((i) => i.args.split("=") as [string, string]),
    );
    const froms = instructions.filter((i) => i.keyword === "FROM").map((i) => i.args.split(/\s+/)[0] as string);
    expect(froms).toHaveLength(lastStage + 1);
    for (const from of froms) {
      // Every image has a digest slot, filled from an ARG that is empty or a real sha256 digest (never a
      // placeholder that makes `docker build` fail).
      const slot = /^[\w./-]+:[\w.${}-]+\$\{(\w+_DIGEST):\+@\$\{\1\}\}$/.exec(from);
      expect(slot).not.toBeNull();
      const digest = args[slot?.[1] as string];
      expect(digest === "" || (/^sha256:[0-9a-f]{64}$/.test(digest ?? "") && !/^sha256:0+$/.test(digest ?? ""))).toBe(
        true,
      );
    }
  });

  it("builds with the Bun that CI pins", () => {
    const ciVersion = /^BUN_VERSION=(\S+)$/m.exec(read(".ci/run"))?.[1];
    expect(ciVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(read("Dockerfile")).toContain(`ARG BUN_VERSION=${ciVersion}`);
  });

  it("sets only variables Kicks or its runtime reads", () => {
    const known = (name: string) => CONFIG_VARIABLES.includes(name as never) || name in RUNTIME_ENV;
    expect(Object.keys(runtimeEnv).filter((name) => !known(name))).toEqual([]);
  });
});

describe("compose.yaml", () => {
  it("runs PostgreSQL 16 and Redis 7, each with a health check and a volume", () => {
    const { postgres, redis } = compose.services;
    expect(postgres.image).toMatch(/^postgres:16(\.|-|$)/);
    expect(redis.image).toMatch(/^redis:7(\.|-|$)/);
    for (const service of [postgres, redis]) {
      expect(service.healthcheck.test.length).toBeGreaterThan(1);
      expect(service.volumes).toHaveLength(1);
      expect(Object.keys(compose.volumes)).toContain(service.volumes[0].split(":")[0]);
    }
  });

  it("runs two instances of the image built here, started once both are healthy", () => {
    expect(app.build).toBe(".");
    expect(app.deploy.replicas).toBe(2);
    expect(app.depends_on).toEqual({
      postgres: { condition: "service_healthy" },
      redis: { condition: "service_healthy" },
    });
    // Longer than the 8 s the server drains for after SIGTERM.
    expect(Number.parseInt(app.stop_grace_period, 10)).toBeGreaterThan(8);
  });

  it("publishes one host port per instance onto the port the app listens on", () => {
    const [published, target] = (app.ports[0] as string).split(":");
    const [first, last = first] = (published as string).split("-").map(Number);
    expect((last as number) - (first as number) + 1).toBe(app.deploy.replicas);
    expect(target).toBe(app.environment.PORT);
    expect(target).toBe(arg("EXPOSE"));
  });

  it("wires the shared database and Redis, and takes the rest from .env", () => {
    expect(app.environment.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\//);
    expect(app.environment.REDIS_URL).toBe("redis://redis:6379");
    expect(app.environment.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?/);
    expect(app.env_file).toEqual([{ path: ".env", required: false }]);
    expect(Object.keys(app.environment).filter((name) => !CONFIG_VARIABLES.includes(name as never))).toEqual([]);
  });
});

describe(".env.example", () => {
  it("shows every variable Kicks reads, and no other", () => {
    expect(envExample.filter((name) => !CONFIG_VARIABLES.includes(name as never))).toEqual([]);
    expect(CONFIG_VARIABLES.filter((name) => !envExample.includes(name))).toEqual([]);
  });
});

import { afterAll, describe, expect, it } from "bun:test";
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { version } from "../../package.json";
import { dockerInstructions } from "../support/dockerfile";
import { freshPostgresDatabase, hasRedis, TEST_JWT_SECRET } from "../support/harness";
import { finished, freePort, logLines, waitForHealth } from "../support/processes";

// `bun run build`'s executable as it is deployed: copied alone into an empty folder, run with nothing from the
// repository around it (no node_modules, no drizzle/, no bun on PATH) and only the environment given here.
const root = join(import.meta.dir, "../..");
const { services, migrationsDir } = globalThis.kicksTest;
const scratch = mkdtempSync(join(tmpdir(), "kicks-binary-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Built once for the whole file (about two seconds).
const buildDir = join(scratch, "build");
const build = Bun.spawnSync(["bun", "scripts/build.ts", join(buildDir, "kicks")], { cwd: root, stderr: "pipe" });
if (build.exitCode !== 0) throw new Error(`bun run build failed: ${build.stderr.toString()}`);
const home = join(scratch, "empty");
mkdirSync(home);
const kicks = join(home, "kicks");
copyFileSync(join(buildDir, "kicks"), kicks);
chmodSync(kicks, 0o755);
rmSync(buildDir, { recursive: true, force: true });

const journal = JSON.parse(readFileSync(join(migrationsDir, "meta", "_journal.json"), "utf8"));

/** The Dockerfile's HEALTHCHECK command, run by a shell as Docker would, against this binary. */
function dockerHealthcheck(port: number) {
  const healthcheck = dockerInstructions(readFileSync(join(root, "Dockerfile"), "utf8")).find(
    (instruction) => instruction.keyword === "HEALTHCHECK",
  );
  const command = (healthcheck?.args ?? "").split(" CMD ")[1] ?? "false";
  return Bun.spawn(["sh", "-c", command.replaceAll("/app/kicks", kicks)], {
    cwd: home,
    env: { PATH: "/usr/bin:/bin", PORT: String(port) },
  }).exited;
}

function run(args: string[], env: Record<string, string> = {}) {
  return Bun.spawn([kicks, ...args], {
    cwd: home,
    env: { PATH: home, HOME: home, LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** The binary serving on a free port; SIGKILLed after the test if it is still running. */
async function serve(env: Record<string, string>) {
  const port = freePort();
  const child = run([], { PORT: String(port), ...env });
  afterAll(() => child.kill("SIGKILL"));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(base, child);
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${await new Response(child.stderr).text()}`);
  }
  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const headers: Record<string, string> = body === undefined ? {} : { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  return { child, base, port, call };
}

describe("the compiled binary, alone in an empty folder", () => {
  it("prints its version", async () => {
    const { stdout, exitCode } = await finished(run(["--version"]));
    expect(exitCode).toBe(0);
    expect(stdout.trim()).toMatch(new RegExp(`^kicks ${version.replaceAll(".", "\\.")} \\(bun [\\d.]+\\)$`));
  });

  it("refuses an unknown command with its usage", async () => {
    const { stderr, exitCode } = await finished(run(["deploy"]));
    expect(exitCode).toBe(2);
    expect(stderr).toContain('unknown command "deploy"');
    expect(stderr).toContain("Usage: kicks");
  });

  describe.skipIf(!services.databaseUrl)("with PostgreSQL", () => {
    const recordedMigrations = async (url: string) => {
      const client = postgres(url, { max: 1, onnotice: () => {} });
      try {
        return await client<{ hash: string }[]>`select hash from drizzle.__drizzle_migrations order by id`;
      } finally {
        await client.end();
      }
    };

    it("`kicks migrate` applies every migration of drizzle/ to a fresh database", async () => {
      const url = await freshPostgresDatabase();
      const { stdout, stderr, exitCode } = await finished(
        run(["migrate"], { DATABASE_URL: url, JWT_SECRET: TEST_JWT_SECRET }),
      );
      expect(stderr).toBe("");
      expect(exitCode).toBe(0);
      expect(stdout.trim()).toBe("migrations applied (postgres)");
      expect(await recordedMigrations(url)).toHaveLength(journal.entries.length);
    });

    it("migrates, serves a buyer's flow and drains in-flight requests on SIGTERM", async () => {
      const url = await freshPostgresDatabase();
      const redis: Record<string, string> = hasRedis
        ? { REDIS_URL: services.redisUrl as string, REDIS_KEY_PREFIX: `${services.redisKeyPrefix}binary:` }
        : {};
      const { child, base, call } = await serve({ DATABASE_URL: url, JWT_SECRET: TEST_JWT_SECRET, ...redis });

      const ready = await call("GET", "/readyz");
      expect(ready).toEqual({
        status: 200,
        body: {
          status: "ready",
          checks: { database: "up", redis: hasRedis ? "up" : "not configured", eventLoop: "up" },
        },
      });
      const account = { email: `binary-${crypto.randomUUID()}@test.kicks`, password: "binary-pass-1", name: "Bin" };
      const signup = await call("POST", "/api/v1/auth/signup", account);
      expect(signup.status).toBe(201);
      const login = await call("POST", "/api/v1/auth/login", { email: account.email, password: account.password });
      expect(login.status).toBe(200);
      const { accessToken: token, user } = login.body;
      const charge = await call("POST", "/api/v1/balances/charge", { userId: user.id, amount: 5000 }, token);
      expect(charge).toMatchObject({ status: 200, body: { userId: user.id, balance: 5000 } });
      const balance = await call("GET", `/api/v1/balances/${user.id}`, undefined, token);
      expect(balance).toMatchObject({ status: 200, body: { balance: 5000 } });

      // One charge is surely in flight at SIGTERM: its body is only half sent until the server is draining.
      const chargeBody = JSON.stringify({ userId: user.id, amount: 2000 });
      let sendRest = () => {};
      const halfSent = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(chargeBody.slice(0, 10)));
          sendRest = () => {
            controller.enqueue(new TextEncoder().encode(chargeBody.slice(10)));
            controller.close();
          };
        },
      });
      const slowCharge = fetch(`${base}/api/v1/balances/charge`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: halfSent,
      });
      // And a burst of others (logins hash with argon2id, so some of them are still running too).
      const burst = [
        ...Array.from({ length: 4 }, () =>
          call("POST", "/api/v1/auth/login", { email: account.email, password: account.password }),
        ),
        ...Array.from({ length: 4 }, () =>
          call("POST", "/api/v1/balances/charge", { userId: user.id, amount: 1000 }, token),
        ),
      ];
      await Bun.sleep(200);
      child.kill("SIGTERM");
      await Bun.sleep(200);
      sendRest();
      const slow = await slowCharge;
      expect({ status: slow.status, body: await slow.json() }).toMatchObject({
        status: 200,
        body: { userId: user.id },
      });
      expect((await Promise.all(burst)).map((res) => res.status)).toEqual(Array(8).fill(200));
      expect(await child.exited).toBe(0);

      const lines = await logLines(child.stdout);
      const shutdown = lines.findIndex((line) => line.msg === "shutting down: draining in-flight requests");
      expect(shutdown).toBeGreaterThan(0);
      const drained = lines.slice(shutdown).filter((line) => line.msg === "request");
      expect(drained.map((line) => [line.route, line.status])).toContainEqual(["/api/v1/balances/charge", 200]);
      expect(lines.at(-1)?.msg).toBe("stopped");
      // What was answered was committed, once each.
      const client = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const [row] = await client<{ balance: number }[]>`select balance from balances where user_id = ${user.id}`;
        expect(Number(row?.balance)).toBe(5000 + 4 * 1000 + 2000);
      } finally {
        await client.end();
      }
      expect(await recordedMigrations(url)).toHaveLength(journal.entries.length);
    });
  });

  describe.skipIf(!services.databaseUrl)("with PostgreSQL and a data platform", () => {
    it("takes an order and its payment, and its relay worker delivers their events to the platform", async () => {
      const received: { type: string | null; key: string | null; body: any }[] = [];
      const sink = Bun.serve({
        port: 0,
        hostname: "127.0.0.1",
        async fetch(req) {
          received.push({
            type: req.headers.get("X-Event-Type"),
            key: req.headers.get("Idempotency-Key"),
            body: await req.json(),
          });
          return new Response(null, { status: 204 });
        },
      });
      afterAll(() => sink.stop(true));
      const url = await freshPostgresDatabase();
      const { child, call } = await serve({
        DATABASE_URL: url,
        JWT_SECRET: TEST_JWT_SECRET,
        DATA_PLATFORM_URL: `http://127.0.0.1:${sink.port}/events`,
      });

      const signUp = async (role: "BUYER" | "SELLER") => {
        const account = {
          email: `bin-${role}-${crypto.randomUUID()}@test.kicks`,
          password: "binary-pass-1",
          name: role,
        };
        const extra = role === "SELLER" ? { businessRegistrationNumber: "124-81-00998" } : {};
        expect((await call("POST", "/api/v1/auth/signup", { ...account, role, ...extra })).status).toBe(201);
        return (await call("POST", "/api/v1/auth/login", account)).body as {
          accessToken: string;
          user: { id: string };
        };
      };
      const seller = await signUp("SELLER");
      const buyer = await signUp("BUYER");
      const product = await call(
        "POST",
        "/api/v1/products",
        { name: "Binary Runner", brand: "Kicks", category: "running", price: 120_000, stock: 3 },
        seller.accessToken,
      );
      expect(product.status).toBe(201);
      await call("POST", "/api/v1/balances/charge", { userId: buyer.user.id, amount: 120_000 }, buyer.accessToken);
      const order = await call(
        "POST",
        "/api/v1/orders",
        { userId: buyer.user.id, items: [{ productId: product.body.id, quantity: 1 }] },
        buyer.accessToken,
      );
      expect(order.status).toBe(201);
      const payment = await call("POST", "/api/v1/payments/process", { orderId: order.body.id }, buyer.accessToken);
      expect(payment).toMatchObject({ status: 200, body: { status: "COMPLETED" } });

      for (let i = 0; i < 100 && received.filter((e) => e.body.aggregateId === order.body.id).length < 2; i++) {
        await Bun.sleep(100);
      }
      const delivered = received.filter((event) => event.body.aggregateId === order.body.id);
      expect(delivered.map((event) => event.type)).toEqual(["ORDER_CREATED", "PAYMENT_COMPLETED"]);
      for (const event of delivered) expect(event.key).toBe(event.body.id);
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      // The relay ran in a worker thread of the binary (with DATABASE_URL it never runs on the main thread).
      const lines = await logLines(child.stdout);
      expect(lines.some((line) => /worker/i.test(String(line.msg)) && /relay/i.test(String(line.msg)))).toBe(true);
    });
  });

  describe("embedded (no DATABASE_URL)", () => {
    it("serves /healthz, /openapi.json, /docs and the docs' script from inside the binary", async () => {
      const { child, base, port } = await serve({ DATA_DIR: join(scratch, "embedded-data") });
      for (const path of ["/healthz", "/readyz", "/openapi.json", "/docs", "/docs/scalar.js"]) {
        const res = await fetch(base + path);
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        await res.arrayBuffer();
      }
      expect(await dockerHealthcheck(port)).toBe(0);
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      expect(await dockerHealthcheck(port)).toBe(1);
      const { stderr } = await finished(child);
      expect(stderr).toBe("");
    });

    it("loads pg_trgm from inside the binary (MIGRATIONS_DIR: drizzle/ plus one migration that uses it)", async () => {
      const folder = join(scratch, "migrations-with-trgm");
      cpSync(migrationsDir, folder, { recursive: true });
      writeFileSync(
        join(folder, "9000_trigram_check.sql"),
        [
          "CREATE EXTENSION IF NOT EXISTS pg_trgm;",
          "DO $$ BEGIN IF NOT ('sneaker' % 'sneakers') THEN RAISE EXCEPTION 'pg_trgm is not working'; END IF; END $$;",
        ].join("\n--> statement-breakpoint\n"),
      );
      const last = journal.entries.at(-1);
      const extended = {
        ...journal,
        entries: [...journal.entries, { ...last, idx: last.idx + 1, when: last.when + 1, tag: "9000_trigram_check" }],
      };
      writeFileSync(join(folder, "meta", "_journal.json"), JSON.stringify(extended));

      const { stdout, stderr, exitCode } = await finished(
        run(["migrate"], { DATA_DIR: join(scratch, "trgm-data"), MIGRATIONS_DIR: folder }),
      );
      expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" });
      expect(stdout.trim()).toBe("migrations applied (embedded)");
    });
  });
});

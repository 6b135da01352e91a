import { afterAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import { startHoldingSink } from "../support/event-sink";
import { hasPostgres, openTestDatabase, TEST_JWT_SECRET } from "../support/harness";
import { eventsOf, FAST_RELAY_ENV, outboxWriterFor } from "../support/outbox";
import { waitFor } from "../support/wait";

// `bun src/index.ts` with PostgreSQL, as operators run it: the relay in its worker thread, stopped by SIGTERM.
const root = join(import.meta.dir, "../..");
const { services, migrationsDir } = globalThis.kicksTest;
const database = openTestDatabase();
const append = outboxWriterFor(database);

const order = Bun.randomUUIDv7();
const platform = startHoldingSink(order);
afterAll(() => platform.stop());

/** Collects a child's stdout as it comes, so a test can wait for a log line while the process runs. */
function collect(stream: ReadableStream<Uint8Array>) {
  const collected = { text: "" };
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) collected.text += decoder.decode(chunk, { stream: true });
  })();
  return collected;
}

describe.skipIf(!hasPostgres)("the server process with PostgreSQL", () => {
  it("relays in a worker thread and, on SIGTERM, finishes the try in flight, releases the rest and exits 0", async () => {
    const server = Bun.spawn(["bun", "src/index.ts"], {
      cwd: root,
      env: {
        ...process.env,
        ...FAST_RELAY_ENV,
        OUTBOX_LEASE_SECONDS: "30",
        PORT: "0", // any free port: this test speaks to the relay through the database only
        DATABASE_URL: services.databaseUrl,
        REDIS_URL: "",
        JWT_SECRET: TEST_JWT_SECRET,
        MIGRATIONS_DIR: migrationsDir,
        DATA_PLATFORM_URL: platform.url,
        LOG_LEVEL: "info",
        ADMIN_EMAIL: "",
        ADMIN_PASSWORD: "",
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    const stdout = collect(server.stdout);
    try {
      await waitFor("the relay worker", () => stdout.text.includes("outbox relay running"), 60_000);
      const [first, second] = await append("order", order, "ORDER_CREATED", "PAYMENT_COMPLETED");
      await waitFor("the first try in flight", () => platform.of(first!.id).length === 1);
      server.kill("SIGTERM");
      await waitFor("the relay to take the stop in", () => stdout.text.includes("outbox relay stopping"));
      platform.release();
      expect(await server.exited).toBe(0);

      const rows = await eventsOf(database, "order", [order]);
      expect(rows.map((row) => [row.id, row.status, row.attempts, row.leaseOwner])).toEqual([
        [first!.id, "SENT", 1, null],
        [second!.id, "PENDING", 0, null],
      ]);
      expect(platform.of(second!.id)).toEqual([]);
      const lines = stdout.text
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(lines.some((l) => l.msg === "outbox relay running" && l.thread === "outbox-relay")).toBe(true);
      expect(lines.some((l) => l.msg === "outbox relay stopped" && l.thread === "outbox-relay")).toBe(true);
      expect(lines.at(-1).msg).toBe("stopped");
    } finally {
      server.kill("SIGKILL");
    }
  });
});

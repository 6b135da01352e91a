import { afterAll, describe, expect, it } from "bun:test";
import { openDatabase } from "../../src/infra/db/client";
import { startOutboxRelay } from "../../src/workers/outbox-relay/start";
import { startSink } from "../support/event-sink";
import { createTestApp } from "../support/harness";
import { eventsOf, FAST_RELAY_ENV, outboxWriterFor } from "../support/outbox";
import { waitFor } from "../support/wait";

// Whatever database this run has, this file runs the relay as `bun run start` does with no DATABASE_URL:
// an embedded PGlite of its own, the relay on the main thread.
const { migrationsDir } = globalThis.kicksTest;
const embedded = openDatabase({ poolSize: 1, migrationsDir });
await embedded.migrate();
const platform = startSink();
const t = await createTestApp({
  database: embedded,
  env: { ...FAST_RELAY_ENV, DATABASE_URL: "", DATA_PLATFORM_URL: platform.url },
});
afterAll(async () => {
  await t.close();
  platform.stop();
  await embedded.close();
});

describe("the relay in embedded mode", () => {
  it("runs on the main thread and delivers events written to the embedded database", async () => {
    const relay = await startOutboxRelay(t.container);
    try {
      const append = outboxWriterFor(embedded);
      const [order, coupon] = [Bun.randomUUIDv7(), Bun.randomUUIDv7()];
      const written = [
        ...(await append("order", order, "ORDER_CREATED", "ORDER_CANCELLED")),
        ...(await append("coupon", coupon, "COUPON_CREATED")),
      ];
      await waitFor("delivery", async () => {
        const rows = [
          ...(await eventsOf(embedded, "order", [order])),
          ...(await eventsOf(embedded, "coupon", [coupon])),
        ];
        return rows.every((row) => row.status === "SENT");
      });
      for (const row of written) expect(platform.of(row.id).map((r) => r.body.type)).toEqual([row.type]);
      const metrics = (await t.get<string>("/metrics")).body;
      expect(metrics).toMatch(/^outbox_deliveries_total\{table="order"\} 2$/m);
      expect(metrics).toMatch(/^outbox_deliveries_total\{table="coupon"\} 1$/m);
      expect(metrics).toMatch(/^outbox_backlog_events\{table="order",status="PENDING"\} 0$/m);
    } finally {
      await relay.stop();
    }
  });
});

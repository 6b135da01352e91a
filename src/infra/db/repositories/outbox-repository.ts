import type { NewOutboxEvent, OutboxTopic, OutboxWriter } from "../../../domain/outbox/ports";
import { outboxTables } from "../schema";
import type { Transactions } from "../transactions";

export class DrizzleOutboxWriter implements OutboxWriter {
  constructor(
    private readonly tx: Transactions,
    private readonly newId: () => string,
  ) {}

  async append<T extends OutboxTopic>(topic: T, ...events: NewOutboxEvent<T>[]): Promise<void> {
    if (events.length === 0) return;
    // Both tables share one shape; the union of their insert types is too wide for drizzle's overloads.
    const table = outboxTables[topic] as (typeof outboxTables)["order"];
    await this.tx.current.insert(table).values(events.map((event) => ({ id: this.newId(), ...event })));
  }
}

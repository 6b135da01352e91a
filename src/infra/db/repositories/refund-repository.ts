import { eq, sql } from "drizzle-orm";
import type { NewRefund, Refund, RefundRepository } from "../../../domain/refunds/refund";
import { rowsOf } from "../client";
import { refunds } from "../schema";
import type { Transactions } from "../transactions";

type Row = typeof refunds.$inferSelect;

const toRefund = ({ nextAttemptAt: _next, refundedAt: _at, ...refund }: Row): Refund => refund;

/** Up for a try: new, failed past its backoff, or tried by a process whose lease ran out. */
const startable = sql`(status = 'REFUND_REQUESTED'
  or (status in ('FAILED', 'PROCESSING') and next_attempt_at <= clock_timestamp()))`;

export class DrizzleRefundRepository implements RefundRepository {
  constructor(private readonly tx: Transactions) {}

  async create(refund: NewRefund): Promise<Refund> {
    const [row] = await this.tx.current.insert(refunds).values(refund).returning();
    return toRefund(row as Row);
  }

  async find(id: string): Promise<Refund | undefined> {
    const [row] = await this.tx.current.select().from(refunds).where(eq(refunds.id, id));
    return row && toRefund(row);
  }

  async claim(id: string, leaseSeconds: number): Promise<Refund | undefined> {
    const result = await this.tx.current.execute(sql`
      update ${refunds} set status = 'PROCESSING', attempts = attempts + 1, updated_at = clock_timestamp(),
        next_attempt_at = clock_timestamp() + ${leaseSeconds} * interval '1 second'
      where id = ${id} and ${startable}
      returning id`);
    return rowsOf(result).length === 1 ? this.find(id) : undefined;
  }

  async claimDue(limit: number, leaseSeconds: number): Promise<string[]> {
    const result = await this.tx.current.execute(sql`
      update ${refunds} set status = 'PROCESSING', attempts = attempts + 1, updated_at = clock_timestamp(),
        next_attempt_at = clock_timestamp() + ${leaseSeconds} * interval '1 second'
      where id in (
        select id from ${refunds}
        where status in ('FAILED', 'PROCESSING') and next_attempt_at <= clock_timestamp()
        order by next_attempt_at limit ${limit}
        for update skip locked
      )
      returning id`);
    return rowsOf<{ id: string }>(result).map((row) => row.id);
  }

  async settle(
    id: string,
    to: "REFUNDED" | "FAILED" | "MANUAL",
    fields: { lastError?: string; retryInMs?: number } = {},
  ): Promise<Refund | undefined> {
    const nextAttempt =
      to === "FAILED" ? sql`clock_timestamp() + ${fields.retryInMs ?? 0} * interval '1 millisecond'` : sql`null`;
    const result = await this.tx.current.execute(sql`
      update ${refunds} set status = ${to}, updated_at = clock_timestamp(), next_attempt_at = ${nextAttempt},
        last_error = coalesce(${fields.lastError ?? null}, last_error),
        refunded_at = ${to === "REFUNDED" ? sql`clock_timestamp()` : sql`refunded_at`}
      where id = ${id} and status = 'PROCESSING'
      returning id`);
    return rowsOf(result).length === 1 ? this.find(id) : undefined;
  }
}

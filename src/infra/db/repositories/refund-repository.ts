import { and, eq, sql } from "drizzle-orm";
import type { NewRefund, Refund, RefundRepository, RefundTry } from "../../../domain/refunds/refund";
import { REFUND_MOVES, type RefundStatus, UNFINISHED_REFUND_STATUSES } from "../../../domain/refunds/refund-status";
import { rowsOf } from "../client";
import { refunds } from "../schema";
import type { Transactions } from "../transactions";

type Row = typeof refunds.$inferSelect;

const toRefund = ({ nextAttemptAt: _next, refundedAt: _at, ...refund }: Row): Refund => refund;

/**
 * `status in (…)` with the machine's statuses written as literals (they are constants of the program), so
 * the planner can match the partial index of unfinished refunds whatever plan it caches.
 */
const statusIn = (statuses: readonly RefundStatus[]) =>
  sql`${refunds.status} in (${sql.raw(statuses.map((status) => `'${status}'`).join(", "))})`;

/**
 * Up for a try: not final, and due (a REFUND_REQUESTED one has no due time: it is claimed in the transaction
 * that records it, or at once by the job if that was lost; a FAILED one after its backoff; a PROCESSING one
 * once its try's lease ran out).
 */
const due = sql`(${refunds.nextAttemptAt} is null or ${refunds.nextAttemptAt} <= clock_timestamp())`;
const startable = and(statusIn(REFUND_MOVES.claim.from), due);

export class DrizzleRefundRepository implements RefundRepository {
  constructor(private readonly tx: Transactions) {}

  async create(refund: NewRefund): Promise<Refund | undefined> {
    // The only unique index besides the id is (requestedBy, idempotencyKey): a conflict is a keyed request
    // that another process recorded meanwhile.
    const [row] = await this.tx.current.insert(refunds).values(refund).onConflictDoNothing().returning();
    return row && toRefund(row);
  }

  async find(id: string): Promise<Refund | undefined> {
    const [row] = await this.tx.current.select().from(refunds).where(eq(refunds.id, id));
    return row && toRefund(row);
  }

  async findByRequest(requestedBy: string, idempotencyKey: string): Promise<Refund | undefined> {
    const [row] = await this.tx.current
      .select()
      .from(refunds)
      .where(and(eq(refunds.requestedBy, requestedBy), eq(refunds.idempotencyKey, idempotencyKey)));
    return row && toRefund(row);
  }

  async claim(id: string, leaseSeconds: number): Promise<Refund | undefined> {
    const [row] = await this.tx.current
      .update(refunds)
      .set({
        status: REFUND_MOVES.claim.to,
        attempts: sql`${refunds.attempts} + 1`,
        updatedAt: sql`clock_timestamp()`,
        nextAttemptAt: sql`clock_timestamp() + ${leaseSeconds} * interval '1 second'`,
      })
      .where(and(eq(refunds.id, id), startable))
      .returning();
    return row && toRefund(row);
  }

  async dueIds(limit: number): Promise<string[]> {
    const rows = await this.tx.current
      .select({ id: refunds.id })
      .from(refunds)
      .where(and(statusIn(UNFINISHED_REFUND_STATUSES), due))
      .orderBy(sql`${refunds.nextAttemptAt} nulls first`)
      .limit(limit);
    return rows.map((row) => row.id);
  }

  async settle(
    held: RefundTry,
    to: "REFUNDED" | "FAILED" | "MANUAL",
    fields: { lastError?: string; retryInMs?: number } = {},
  ): Promise<Refund | undefined> {
    const move = { REFUNDED: REFUND_MOVES.land, FAILED: REFUND_MOVES.fail, MANUAL: REFUND_MOVES.leaveToPerson }[to];
    const nextAttempt =
      to === "FAILED" ? sql`clock_timestamp() + ${fields.retryInMs ?? 0} * interval '1 millisecond'` : sql`null`;
    const result = await this.tx.current.execute(sql`
      update ${refunds} set status = ${move.to}, updated_at = clock_timestamp(), next_attempt_at = ${nextAttempt},
        last_error = coalesce(${fields.lastError ?? null}, last_error),
        refunded_at = ${to === "REFUNDED" ? sql`clock_timestamp()` : sql`refunded_at`}
      where id = ${held.id} and attempts = ${held.attempts} and ${statusIn(move.from)}
      returning id`);
    return rowsOf(result).length === 1 ? this.find(held.id) : undefined;
  }
}

import { and, eq, gte, sql } from "drizzle-orm";
import type { StockLine } from "../../../domain/catalogue/ports";
import type { AwaitedLine, OrderReturn, ReturnRepository } from "../../../domain/returns/order-return";
import { orderItems, orderReturnItems, orderReturns, orders } from "../schema";
import type { Transactions } from "../transactions";

/** Returns' own statements on orders' lines (kept apart from the order repository: checkout does not use them). */
export class DrizzleReturnRepository implements ReturnRepository {
  constructor(private readonly tx: Transactions) {}

  async awaited(orderId: string): Promise<AwaitedLine[] | undefined> {
    const lines = await this.tx.current
      .select({
        productId: orderItems.productId,
        sellerId: orderItems.sellerId,
        awaitingReturn: orderItems.awaitingReturn,
      })
      .from(orderItems)
      .where(eq(orderItems.orderId, orderId))
      .orderBy(orderItems.productId);
    // Every order has a line: none means no such order.
    return lines.length === 0 ? undefined : lines;
  }

  async lockAwaited(orderId: string): Promise<AwaitedLine[] | undefined> {
    const [locked] = await this.tx.current
      .select({ id: orders.id })
      .from(orders)
      .where(eq(orders.id, orderId))
      .for("update");
    return locked && this.awaited(orderId);
  }

  async awaitAll(orderId: string): Promise<StockLine[]> {
    return this.tx.current
      .update(orderItems)
      .set({
        awaitingReturn: sql`${orderItems.quantity} - ${orderItems.returnedQuantity} - ${orderItems.writtenOffQuantity}`,
      })
      .where(eq(orderItems.orderId, orderId))
      .returning({ productId: orderItems.productId, quantity: orderItems.awaitingReturn });
  }

  async takeAwaited(orderId: string, productId: string, resellable: number, damaged: number): Promise<boolean> {
    const taken = await this.tx.current
      .update(orderItems)
      .set({
        awaitingReturn: sql`${orderItems.awaitingReturn} - ${resellable + damaged}`,
        returnedQuantity: sql`${orderItems.returnedQuantity} + ${resellable}`,
        writtenOffQuantity: sql`${orderItems.writtenOffQuantity} + ${damaged}`,
      })
      .where(
        and(
          eq(orderItems.orderId, orderId),
          eq(orderItems.productId, productId),
          gte(orderItems.awaitingReturn, resellable + damaged),
        ),
      )
      .returning({ productId: orderItems.productId });
    return taken.length === 1;
  }

  async insert(recorded: Omit<OrderReturn, "createdAt">): Promise<OrderReturn> {
    const [row] = await this.tx.current
      .insert(orderReturns)
      .values({ id: recorded.id, orderId: recorded.orderId, recordedBy: recorded.recordedBy })
      .returning();
    await this.tx.current
      .insert(orderReturnItems)
      .values(recorded.items.map((item) => ({ returnId: recorded.id, ...item })));
    return { ...recorded, createdAt: (row as typeof orderReturns.$inferSelect).createdAt };
  }
}

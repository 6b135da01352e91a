import type { Order } from "../orders/order";
import type { SalesRepository } from "./ports";
import { salesOfPayment, salesOfRefund } from "./sales-deltas";

/**
 * Keeps the daily sales rollup in the transactions that move money: a completed payment adds its lines, a
 * landed refund takes its share back. Rows are written in product id order, after the products' own rows
 * were locked by the stock movement of the same transaction, so no new lock order (and no deadlock) comes in.
 */
export class SalesRecorder {
  constructor(private readonly sales: SalesRepository) {}

  paid = (order: Order): Promise<void> => this.sales.add(salesOfPayment(order));

  refunded = (order: Order, amount: number, fullyRefunded: boolean): Promise<void> =>
    this.sales.add(salesOfRefund(order, amount, fullyRefunded));
}

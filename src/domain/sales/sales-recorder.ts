import type { Order } from "../orders/order";
import type { UnitOfWork } from "../shared/unit-of-work";
import type { SalesRepository } from "./ports";
import { byProduct, refundShares, salesOfRefund } from "./sales-deltas";

export interface SalesRecorderObserver {
  /** The rollup could not take a sale in; the money moved anyway (the invariant checker will show the gap). */
  failed(kind: "refund", orderId: string, error: unknown): void;
}

/**
 * Keeps the daily sales rollup in the transactions that move money: a landed refund takes its share back. Rows
 * are written in product id order, after the products' own rows were locked by the stock movement of the same
 * transaction, so no new lock order (and no deadlock) comes in. A refund's statistics never stop its money: the
 * write runs in a savepoint, and if it fails the refund still commits, with an error reported.
 *
 * A completed payment's sales are not written here: its completion's one statement adds them
 * (PaymentRepository.complete; sales-repository.ts, paidSalesCte), all or nothing with the payment, so a rollup
 * that fails leaves the payment GATEWAY_REQUESTED for a confirm or the recovery job to complete
 * (docs/checkout-performance.md, "A payment's completion is one statement").
 */
export class SalesRecorder {
  constructor(
    private readonly deps: { sales: SalesRepository; unitOfWork: UnitOfWork; observer: SalesRecorderObserver },
  ) {}

  /** `order` as it was settled, its lines as before this refund. */
  refunded = (order: Order, amount: number, fullyRefunded: boolean): Promise<void> =>
    this.#record("refund", order.id, async () => {
      const shares = refundShares(order, amount);
      await this.deps.sales.refundLines(
        order.id,
        byProduct(order).map((line, index) => ({ productId: line.productId, amount: shares[index] as number })),
      );
      await this.deps.sales.add(salesOfRefund(order, shares, fullyRefunded));
    });

  async #record(kind: "refund", orderId: string, write: () => Promise<void>): Promise<void> {
    try {
      await this.deps.unitOfWork.withTransaction(write);
    } catch (error) {
      this.deps.observer.failed(kind, orderId, error);
    }
  }
}

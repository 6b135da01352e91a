import type { StockService } from "../catalogue/stock-service";
import type { OutboxWriter } from "../outbox/ports";
import type { ReturnService } from "../returns/return-service";
import { type Order, toOrderView } from "./order";
import { type OrderStatus, UNITS_WITH_BUYER_STATUSES } from "./order-status";
import type { CouponRedemption } from "./ports";

/**
 * Where a cancelled order's units go, decided by the status it was cancelled from: an unpaid order's reserved
 * units are released, a paid one's sold units go back on sale while they are still in the shop, and once they
 * have shipped they wait for the return the seller records (contract: Orders, Refunds, Returns).
 */
export type UnitsBack = "release" | "restock" | "awaitReturn";

export function unitsBackFrom(from: OrderStatus): UnitsBack {
  if (from === "CREATED") return "release";
  return UNITS_WITH_BUYER_STATUSES.includes(from) ? "awaitReturn" : "restock";
}

export interface CancellationPorts {
  stock: Pick<StockService, "release" | "restock">;
  coupons: Pick<CouponRedemption, "restoreForOrder">;
  outbox: Pick<OutboxWriter, "append">;
  /** Needed only where a paid order can be cancelled after it shipped (a full refund). */
  returns?: Pick<ReturnService, "awaitReturnOf">;
}

/**
 * What cancelling an order does besides its status, for every way an order ends CANCELLED (its buyer's or an
 * admin's cancel, expiry, a full refund): its units back (see `unitsBackFrom`), its coupon back to the buyer
 * (usable again), and ORDER_CANCELLED. Runs in the transaction whose conditional update cancelled `cancelled`,
 * so it happens once however many cancels race.
 */
export async function applyCancellation(ports: CancellationPorts, cancelled: Order, from: OrderStatus): Promise<void> {
  const units = unitsBackFrom(from);
  if (units === "release") await ports.stock.release(cancelled.items);
  else if (units === "restock") await ports.stock.restock(cancelled.items);
  else {
    if (!ports.returns) throw new Error(`order ${cancelled.id} was cancelled from ${from} with no returns to await`);
    await ports.returns.awaitReturnOf(cancelled.id);
  }
  if (cancelled.couponApplied) await ports.coupons.restoreForOrder(cancelled.id);
  await ports.outbox.append("order", {
    aggregateId: cancelled.id,
    type: "ORDER_CANCELLED",
    payload: toOrderView(cancelled),
  });
}

import type { StockLine } from "../catalogue/ports";

/** How returned units came back: RESELLABLE ones go back on sale, DAMAGED ones leave the books. */
export const RETURN_CONDITIONS = ["RESELLABLE", "DAMAGED"] as const;
export type ReturnCondition = (typeof RETURN_CONDITIONS)[number];

export interface ReturnedUnits {
  productId: string;
  quantity: number;
  condition: ReturnCondition;
}

/** One line of an order as returns see it: whose product, and how many of its units are still awaited. */
export interface AwaitedLine {
  productId: string;
  sellerId: string;
  awaitingReturn: number;
}

export interface OrderReturn {
  id: string;
  orderId: string;
  recordedBy: string;
  items: ReturnedUnits[];
  createdAt: Date;
}

/** The contract's answer to POST /orders/{orderId}/returns: what was recorded, and what is still awaited. */
export function toOrderReturnView(recorded: OrderReturn, stillAwaited: AwaitedLine[]) {
  return {
    id: recorded.id,
    orderId: recorded.orderId,
    recordedBy: recorded.recordedBy,
    items: recorded.items.map(({ productId, quantity, condition }) => ({ productId, quantity, condition })),
    awaiting: stillAwaited
      .filter((line) => line.awaitingReturn > 0)
      .map((line) => ({ productId: line.productId, quantity: line.awaitingReturn })),
    createdAt: recorded.createdAt.toISOString(),
  };
}

export type OrderReturnView = ReturnType<typeof toOrderReturnView>;

export interface ReturnRepository {
  /** The order's lines with their awaited units as last committed, nothing locked; undefined: no such order. */
  awaited(orderId: string): Promise<AwaitedLine[] | undefined>;
  /**
   * The order's lines with their awaited units, the order's row locked until the caller's transaction ends
   * (returns of one order are decided one at a time); undefined when there is no such order.
   */
  lockAwaited(orderId: string): Promise<AwaitedLine[] | undefined>;
  /** Every unit of the order's lines is now awaited (it was refunded in full after shipping). Its lines. */
  awaitAll(orderId: string): Promise<StockLine[]>;
  /**
   * `awaiting_return - (resellable + damaged)` on the line, only if that many are awaited (one conditional
   * UPDATE); false when they were not.
   */
  takeAwaited(orderId: string, productId: string, resellable: number, damaged: number): Promise<boolean>;
  /** Records the return (its time from the database's clock). */
  insert(recorded: Omit<OrderReturn, "createdAt">): Promise<OrderReturn>;
}

import type { SalesDelta } from "./sales-deltas";
import type { Day } from "./seoul-days";

export interface DayRange {
  from: Day;
  to: Day;
}

export interface ProductSales {
  productId: string;
  quantity: number;
  salesAmount: number;
}

export const SALES_GROUPINGS = ["day", "week", "month", "category", "product", "seller"] as const;
export type SalesGrouping = (typeof SALES_GROUPINGS)[number];

/** The groupings the store adds up itself; weeks and months are rolled up from days. */
export type StoredGrouping = "day" | "category" | "product" | "seller";

export interface SalesTotal {
  key: string;
  orderCount: number;
  quantity: number;
  salesAmount: number;
}

export interface SalesRepository {
  /** Adds the deltas to their days' rows (inside the caller's transaction), in the order given. */
  add(deltas: SalesDelta[]): Promise<void>;
  /** Adds each share to the refunded amount of the order's line of that product. */
  refundLines(orderId: string, shares: { productId: string; amount: number }[]): Promise<void>;
  /** Products with units sold in the range: most units first, then the larger sales amount, then the id. */
  topProducts(range: DayRange, limit: number): Promise<ProductSales[]>;
  /** Totals per group over the range, optionally of one seller's products only (groups with sales only). */
  totals(range: DayRange, grouping: StoredGrouping, sellerId?: string): Promise<SalesTotal[]>;
}

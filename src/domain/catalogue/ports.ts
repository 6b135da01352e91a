import type { Product, ProductStatus } from "./product";

export interface NewProduct {
  id: string;
  sellerId: string;
  name: string;
  description: string | null;
  brand: string;
  category: string;
  price: number;
  stock: number;
  lowStockThreshold: number;
  modelCode: string | null;
  shoeSize: string | null;
}

/** Fields a seller may edit; `stock` sets the units that can still be ordered. */
export interface ProductEdit {
  name?: string;
  description?: string | null;
  brand?: string;
  category?: string;
  price?: number;
  stock?: number;
  lowStockThreshold?: number;
}

export const PRODUCT_SORTS = ["newest", "price_asc", "price_desc", "popular"] as const;
export type ProductSort = (typeof PRODUCT_SORTS)[number];

export interface ProductFilter {
  /** Case-insensitive substring of the name. */
  q?: string;
  /** Case-insensitive exact matches. */
  category?: string;
  brand?: string;
  /** Inclusive bounds. */
  minPrice?: number;
  maxPrice?: number;
  /** Any of these statuses; absent: every status but DISCONTINUED. */
  status?: ProductStatus[];
  /** On sale (AVAILABLE or LOW_STOCK) or not. */
  onSale?: boolean;
  sellerId?: string;
  /** Case-insensitive exact match. */
  modelCode?: string;
  shoeSize?: string;
}

/** Where a keyset page starts: just after the row with this sort key and id. */
export interface KeysetPosition {
  /** The sort column's value: createdAt (ISO string), price or soldQuantity. */
  key: string | number;
  id: string;
}

export interface ProductListQuery {
  filter: ProductFilter;
  sort: ProductSort;
  /** Rows to return (the repository may fetch one more to tell whether there is a next page). */
  limit: number;
  /** Keyset start; when absent, `offset` rows are skipped instead. */
  after?: KeysetPosition;
  offset: number;
}

/** One line of a stock movement. */
export interface StockLine {
  productId: string;
  quantity: number;
}

/** Units of one product that came back from a buyer (contract: Returns). */
export interface ReturnLine {
  productId: string;
  /** Back on sale. */
  resellable: number;
  /** Written off. */
  damaged: number;
}

/**
 * Products and their stock counters. Every stock movement is one conditional UPDATE (`stock >= q`,
 * `reserved_stock >= q`, …) that bumps `version`; undefined means its condition did not hold, and nothing
 * changed. The database's CHECKs make stock + reserved + sold + awaiting return + written off = units stocked
 * impossible to break.
 */
export interface ProductRepository {
  insert(product: NewProduct): Promise<Product>;
  find(id: string): Promise<Product | undefined>;
  findMany(ids: string[]): Promise<Product[]>;
  /**
   * `findMany` with the database's time it read them at (an order is priced from the rows and created at that
   * time). As the first statement of a keyed transaction, it also makes the key's look (UnitOfWork.withKeyLook).
   */
  findManyAt(ids: string[]): Promise<{ products: Product[]; at: Date }>;
  /** The edit, if the product is still at `version`. */
  editIfVersion(id: string, version: number, edit: ProductEdit): Promise<Product | undefined>;
  /** Marks the product discontinued (once: later calls leave the first date and the version alone). */
  discontinue(id: string): Promise<Product | undefined>;
  list(query: ProductListQuery): Promise<{ items: Product[]; total: number }>;
  /** Every product of the model (`modelCode` in any case), discontinued ones included, in one query. */
  findModel(modelCode: string): Promise<Product[]>;
  /**
   * Per model (case-folded code), the sum of its products' versions: it only grows, with every committed change
   * to one of them and with every new one, so it stamps a cached model page as a version stamps a product's.
   */
  modelVersions(modelCodes: string[]): Promise<Map<string, number>>;
  /**
   * stock → reserved, if `stock >= quantity`, the product is not discontinued and (when given) its price is
   * still `expectedPrice`.
   */
  reserve(line: StockLine & { expectedPrice?: number }): Promise<Product | undefined>;
  /** reserved → stock (an unpaid order cancelled or expired). */
  release(line: StockLine): Promise<Product | undefined>;
  /** sold → stock (a paid order refunded in full before it shipped). */
  restock(line: StockLine): Promise<Product | undefined>;
  /** sold → awaiting return (a paid order refunded in full after it shipped: the units are with the buyer). */
  awaitReturn(line: StockLine): Promise<Product | undefined>;
  /** awaiting return → stock (resellable) and written off (damaged), if that many are awaited. */
  receiveReturn(line: ReturnLine): Promise<Product | undefined>;
}

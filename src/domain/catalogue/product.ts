export const PRODUCT_STATUSES = ["AVAILABLE", "LOW_STOCK", "RESERVED", "SOLD", "OUT_OF_STOCK", "DISCONTINUED"] as const;
export type ProductStatus = (typeof PRODUCT_STATUSES)[number];

export interface Product {
  id: string;
  sellerId: string;
  name: string;
  description: string | null;
  brand: string;
  category: string;
  price: number;
  /** Units that can still be ordered. */
  stock: number;
  /** Units held by unpaid orders. */
  reservedStock: number;
  /** Units in paid orders that were not refunded. */
  soldQuantity: number;
  /** Units of orders refunded in full after shipping, still with the buyer until a return is recorded. */
  awaitingReturn: number;
  /** Units returned damaged: off the books. */
  writtenOff: number;
  lowStockThreshold: number;
  /** The manufacturer's style code (as the seller wrote it) and this SKU's size: both or neither. */
  modelCode: string | null;
  shoeSize: string | null;
  discontinuedAt: Date | null;
  /** Increments with every change, stock movements included (optimistic edits, cache freshness). */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface StockCounts {
  stock: number;
  reservedStock: number;
  soldQuantity: number;
  lowStockThreshold: number;
  discontinued: boolean;
}

/**
 * The contract's status rule, in order: DISCONTINUED if discontinued; else AVAILABLE above the threshold,
 * LOW_STOCK from 1 up to it; with no stock left RESERVED while unpaid orders hold units, else SOLD if any
 * sold, else OUT_OF_STOCK. The database computes the same rule as a generated column (schema/products.ts),
 * which `?status=` filters on; a test checks both over every case.
 */
export function productStatus(counts: StockCounts): ProductStatus {
  if (counts.discontinued) return "DISCONTINUED";
  if (counts.stock > counts.lowStockThreshold) return "AVAILABLE";
  if (counts.stock > 0) return "LOW_STOCK";
  if (counts.reservedStock > 0) return "RESERVED";
  if (counts.soldQuantity > 0) return "SOLD";
  return "OUT_OF_STOCK";
}

/** The statuses in which a product can be ordered (`onSale`). */
export const ON_SALE_STATUSES: readonly ProductStatus[] = ["AVAILABLE", "LOW_STOCK"];

export const isOnSale = (status: ProductStatus) => ON_SALE_STATUSES.includes(status);

/** The contract's product shape, as clients receive it (and as the cache stores it, serialised). */
export interface ProductView {
  id: string;
  sellerId: string;
  name: string;
  description: string | null;
  brand: string;
  category: string;
  modelCode: string | null;
  shoeSize: string | null;
  price: number;
  stock: number;
  reservedStock: number;
  soldQuantity: number;
  awaitingReturn: number;
  writtenOff: number;
  status: ProductStatus;
  onSale: boolean;
  lowStockThreshold: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export function toProductView(product: Product): ProductView {
  const status = productStatus({ ...product, discontinued: product.discontinuedAt !== null });
  return {
    id: product.id,
    sellerId: product.sellerId,
    name: product.name,
    description: product.description,
    brand: product.brand,
    category: product.category,
    modelCode: product.modelCode,
    shoeSize: product.shoeSize,
    price: product.price,
    stock: product.stock,
    reservedStock: product.reservedStock,
    soldQuantity: product.soldQuantity,
    awaitingReturn: product.awaitingReturn,
    writtenOff: product.writtenOff,
    status,
    onSale: isOnSale(status),
    lowStockThreshold: product.lowStockThreshold,
    version: product.version,
    createdAt: product.createdAt.toISOString(),
    updatedAt: product.updatedAt.toISOString(),
  };
}

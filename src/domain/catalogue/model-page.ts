import { isOnSale, type Product, type ProductStatus, productStatus } from "./product";

/** One seller's offer of a model in one size: a product. */
export interface ModelOffer {
  productId: string;
  sellerId: string;
  price: number;
  stock: number;
  status: ProductStatus;
  onSale: boolean;
}

export interface ModelSize {
  shoeSize: string;
  /** The lowest price among the size's offers on sale; null when none is. */
  lowestPrice: number | null;
  /** Units that can be ordered, over every offer of the size. */
  stock: number;
  offers: ModelOffer[];
}

/** The contract's model page (`GET /models/{modelCode}`). */
export interface ModelPage {
  modelCode: string;
  name: string;
  brand: string;
  category: string;
  sizes: ModelSize[];
}

/** The manufacturer's style code: 1–40 letters, digits and `-` (e.g. `DZ5485-612`), compared case-insensitively. */
export const MODEL_CODE_PATTERN = /^[A-Za-z0-9-]{1,40}$/;

const NUMERIC_SIZE = /^\d+(\.\d+)?$/;

/**
 * Sizes in the order a buyer reads them: numeric sizes (mm, `270`; or `9.5`) numerically and first, then the
 * rest (`US 9`, `US 10`, `XL`) in natural order, digits compared as numbers.
 */
export function compareShoeSizes(a: string, b: string): number {
  const numericA = NUMERIC_SIZE.test(a);
  const numericB = NUMERIC_SIZE.test(b);
  if (numericA && numericB) return Number(a) - Number(b) || a.localeCompare(b);
  if (numericA !== numericB) return numericA ? -1 : 1;
  return a.localeCompare(b, "en", { numeric: true, sensitivity: "base" }) || (a < b ? -1 : a > b ? 1 : 0);
}

const newestFirst = (a: Product, b: Product) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/**
 * The page of a model from every product carrying its code (any seller, discontinued ones included): live
 * (not discontinued) offers grouped by size, each size's offers cheapest first. Undefined when no offer is live.
 */
export function toModelPage(products: Product[]): ModelPage | undefined {
  const live = products.filter((product) => product.discontinuedAt === null && product.shoeSize !== null);
  const newest = live.toSorted(newestFirst)[0];
  if (!newest) return undefined;
  const bySize = new Map<string, ModelOffer[]>();
  for (const product of live) {
    const status = productStatus({ ...product, discontinued: false });
    const offers = bySize.get(product.shoeSize as string) ?? [];
    offers.push({
      productId: product.id,
      sellerId: product.sellerId,
      price: product.price,
      stock: product.stock,
      status,
      onSale: isOnSale(status),
    });
    bySize.set(product.shoeSize as string, offers);
  }
  const sizes = [...bySize.keys()].sort(compareShoeSizes).map((shoeSize): ModelSize => {
    const offers = (bySize.get(shoeSize) as ModelOffer[]).sort(
      (a, b) => Number(b.onSale) - Number(a.onSale) || a.price - b.price || (a.productId < b.productId ? -1 : 1),
    );
    const onSale = offers.filter((offer) => offer.onSale).map((offer) => offer.price);
    return {
      shoeSize,
      lowestPrice: onSale.length > 0 ? Math.min(...onSale) : null,
      stock: offers.reduce((sum, offer) => sum + offer.stock, 0),
      offers,
    };
  });
  return {
    modelCode: newest.modelCode as string,
    name: newest.name,
    brand: newest.brand,
    category: newest.category,
    sizes,
  };
}

/** What stamps a cached model page: the sum of its products' versions (see ProductRepository.modelVersions). */
export const modelVersion = (products: Pick<Product, "version">[]) =>
  products.reduce((sum, product) => sum + product.version, 0);

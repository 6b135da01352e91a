import { DomainError } from "../shared/errors";
import type { UnitOfWork } from "../shared/unit-of-work";
import type { CatalogueService } from "./catalogue-service";
import type { ProductRepository, ReturnLine, StockLine } from "./ports";
import type { Product } from "./product";

/** A reservation refused because the product's price is no longer the one the order was priced at. */
export class PriceChanged extends Error {
  constructor(readonly productId: string) {
    super(`the price of product ${productId} changed while the order was placed`);
  }
}

type Movement = "reserve" | "release" | "restock" | "awaitReturn" | "receiveReturn";

/**
 * Stock movements for orders, payments and refunds. Each runs inside the caller's transaction (so an
 * order's reservation commits or rolls back with the order), moves lines in product-id order (so two
 * orders locking the same products always lock them in the same order and cannot deadlock), and
 * invalidates the products' cached details once that transaction commits.
 */
export class StockService {
  constructor(
    private readonly deps: { products: ProductRepository; unitOfWork: UnitOfWork; catalogue: CatalogueService },
  ) {}

  /**
   * Takes `lines` out of the orderable stock into reserved stock, all or nothing: an unknown or
   * discontinued product is 400 INVALID_PRODUCT, a short one 400 INSUFFICIENT_STOCK, and in both cases no
   * line stays reserved. A line with an `expectedPrice` (what the order was priced at) is reserved only while
   * the product still costs that; else PriceChanged (not a client error: the caller prices the order again).
   */
  reserve(lines: (StockLine & { expectedPrice?: number })[]): Promise<Product[]> {
    return this.#move(
      lines,
      (line) => this.deps.products.reserve(line),
      async (line) => {
        throw refusalOf(line, await this.deps.products.find(line.productId));
      },
    );
  }

  /**
   * Products whose stock a statement of another repository moved (an order's placing, OrderRepository.place):
   * their cached details are dropped once the transaction commits, as after the movements here.
   */
  movedElsewhere(
    products: Pick<Product, "id" | "version" | "modelCode">[],
    /** The movement committed already, outside the caller's transaction (a group's statement): dropped now. */
    committed = false,
  ): Promise<void> | void {
    if (committed) return this.deps.catalogue.invalidateCommitted(products);
    return this.deps.catalogue.invalidateAfterCommit(products);
  }

  /**
   * Why a reservation of `lines` made elsewhere (an order's own statement, OrderRepository.place) was refused, as
   * `reserve` would say it: the products read again, the first line in product-id order that cannot be reserved
   * now. A line refused under a stock or price that is back by now is PriceChanged too: the order is priced again.
   */
  async refusalOf(lines: (StockLine & { expectedPrice: number })[]): Promise<Error> {
    const found = new Map(
      (await this.deps.products.findMany(lines.map((line) => line.productId))).map((p) => [p.id, p]),
    );
    const ordered = inProductIdOrder(lines);
    for (const line of ordered) {
      const product = found.get(line.productId);
      if (!product || product.discontinuedAt || product.stock < line.quantity || product.price !== line.expectedPrice) {
        return refusalOf(line, product);
      }
    }
    return new PriceChanged((ordered[0] as StockLine).productId);
  }

  /** Reserved units back to orderable stock (an unpaid order cancelled or expired). */
  release(lines: StockLine[]): Promise<Product[]> {
    return this.#move(lines, (line) => this.deps.products.release(line), inconsistent("release"));
  }

  /** Sold units back to orderable stock (a paid order refunded in full before it shipped). */
  restock(lines: StockLine[]): Promise<Product[]> {
    return this.#move(lines, (line) => this.deps.products.restock(line), inconsistent("restock"));
  }

  /** Sold units to awaiting return (a paid order refunded in full after it shipped: the pairs are with the buyer). */
  awaitReturn(lines: StockLine[]): Promise<Product[]> {
    return this.#move(lines, (line) => this.deps.products.awaitReturn(line), inconsistent("awaitReturn"));
  }

  /** Awaited units that came back: resellable ones to orderable stock, damaged ones written off. */
  receiveReturn(lines: ReturnLine[]): Promise<Product[]> {
    return this.#move(lines, (line) => this.deps.products.receiveReturn(line), inconsistent("receiveReturn"));
  }

  #move<Line extends { productId: string }>(
    lines: Line[],
    step: (line: Line) => Promise<Product | undefined>,
    refused: (line: Line) => Promise<never>,
  ): Promise<Product[]> {
    const ordered = inProductIdOrder(lines);
    const moveAll = async () => {
      const moved: Product[] = [];
      for (const line of ordered) {
        const product = await step(line);
        if (!product) await refused(line);
        moved.push(product as Product);
      }
      await this.deps.catalogue.invalidateAfterCommit(moved);
      return moved;
    };
    // One line is one conditional statement, all or nothing by itself: inside the caller's transaction it
    // needs no savepoint of its own (one round trip fewer per order and per payment). Several lines do, so a
    // refusal of a later line undoes the earlier ones even if the caller carries on.
    if (ordered.length === 1 && this.deps.unitOfWork.inTransaction()) return moveAll();
    return this.deps.unitOfWork.withTransaction(moveAll);
  }
}

/** A copy of `lines` in product-id order: the order stock rows are locked in, everywhere. */
function inProductIdOrder<Line extends { productId: string }>(lines: Line[]): Line[] {
  return [...lines].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}

/** Why `line` cannot be reserved from `product` as it is now (see reserve). */
function refusalOf(line: StockLine & { expectedPrice?: number }, product: Product | undefined): Error {
  if (!product || product.discontinuedAt) {
    return new DomainError(
      "INVALID_PRODUCT",
      `Product ${line.productId} does not exist or is discontinued`,
      undefined,
      {
        productId: line.productId,
      },
    );
  }
  if (product.stock >= line.quantity && line.expectedPrice !== undefined) return new PriceChanged(line.productId);
  return new DomainError(
    "INSUFFICIENT_STOCK",
    `Only ${product.stock} of ${product.name} left; ${line.quantity} requested`,
    undefined,
    { productId: line.productId, available: product.stock, requested: line.quantity },
  );
}

/** Releasing, selling or restocking units that are not there means our books are wrong: a bug, not a 4xx. */
const inconsistent = (movement: Movement) => async (line: StockLine | ReturnLine) => {
  throw new Error(`cannot ${movement} ${JSON.stringify(line)}: the product's counters do not hold them`);
};

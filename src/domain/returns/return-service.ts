import type { StockService } from "../catalogue/stock-service";
import { DomainError, type FieldError } from "../shared/errors";
import type { UnitOfWork } from "../shared/unit-of-work";
import type { Actor } from "../users/user";
import {
  type AwaitedLine,
  type OrderReturnView,
  type ReturnedUnits,
  type ReturnRepository,
  toOrderReturnView,
} from "./order-return";

interface ReturnCounts {
  resellable: number;
  damaged: number;
}

interface ReturnServiceDeps {
  returns: ReturnRepository;
  stock: StockService;
  unitOfWork: UnitOfWork;
  newId: () => string;
}

/**
 * Returns (contract: Refunds → Returns). A refund in full of an order that has shipped puts no unit back on
 * sale: the pair is still at the buyer's door. Its units wait in the products' `awaitingReturn` until the
 * seller of the items (or an admin) records what came back: RESELLABLE → stock, DAMAGED → written off.
 *
 * A recording is one transaction under the order's row lock: two recordings of one order are decided one
 * after the other, and each line's awaited units are taken by a conditional update, so racing returns never
 * take more than was awaited, and a crash leaves either the whole return or none of it.
 */
export class ReturnService {
  constructor(private readonly deps: ReturnServiceDeps) {}

  /** In the refund's landing transaction, for an order cancelled after it shipped: sold → awaiting return. */
  async awaitReturnOf(orderId: string): Promise<void> {
    const lines = await this.deps.returns.awaitAll(orderId);
    await this.deps.stock.awaitReturn(lines);
  }

  async record(actor: Actor, orderId: string, items: ReturnedUnits[]): Promise<OrderReturnView> {
    return this.deps.unitOfWork.withTransaction(async () => {
      // Refusals first, on the lines as they stand, before the order's row is locked: a refusal made before any
      // effect (a row lock counts as one) is not kept as an Idempotency-Key's answer (contract: Idempotency), so
      // a return refused before the order's full refund landed runs again when retried with its key after it.
      planReturn(actor, await this.#lines(orderId, "read"), items);
      const lines = await this.#lines(orderId, "lock");
      // Decided again under the lock: a racing recording may have taken units meanwhile. Awaited units only
      // fall once they are awaited, so a refusal here rests on state that will not come back.
      const byProduct = planReturn(actor, lines, items);

      // Lines in product-id order, as every stock movement locks products: no deadlock with an order or refund.
      const products = [...byProduct.keys()].sort();
      for (const productId of products) {
        const { resellable, damaged } = byProduct.get(productId) as ReturnCounts;
        // Under the order's lock this always holds; the condition is the last word if that lock ever went.
        if (!(await this.deps.returns.takeAwaited(orderId, productId, resellable, damaged))) {
          throw new DomainError("RETURN_EXCEEDS_AWAITED", `Product ${productId}: fewer units are awaited now`);
        }
      }
      // Both conditions of a product in one movement, products in id order (as every stock movement locks them).
      await this.deps.stock.receiveReturn(
        products.map((productId) => ({ productId, ...(byProduct.get(productId) as ReturnCounts) })),
      );

      const recorded = await this.deps.returns.insert({
        id: this.deps.newId(),
        orderId,
        recordedBy: actor.userId,
        items,
      });
      const after = lines.map((line) => {
        const counts = byProduct.get(line.productId);
        return counts ? { ...line, awaitingReturn: line.awaitingReturn - counts.resellable - counts.damaged } : line;
      });
      return toOrderReturnView(recorded, after);
    });
  }

  async #lines(orderId: string, how: "read" | "lock"): Promise<AwaitedLine[]> {
    const lines = await (how === "lock" ? this.deps.returns.lockAwaited(orderId) : this.deps.returns.awaited(orderId));
    if (!lines) throw new DomainError("ORDER_NOT_FOUND", `No order ${orderId}`);
    return lines;
  }
}

/**
 * What a recording moves, per product, decided on the order's locked lines (contract: Returns): only a seller of
 * the items (each its own products) or an admin; nothing awaited → 409 ORDER_NOT_RETURNABLE; more of a product
 * than is awaited (both conditions together) → 400 RETURN_EXCEEDS_AWAITED naming the items.
 */
function planReturn(actor: Actor, lines: AwaitedLine[], items: ReturnedUnits[]): Map<string, ReturnCounts> {
  if (actor.role !== "ADMIN" && !lines.some((line) => line.sellerId === actor.userId)) {
    throw new DomainError("FORBIDDEN", "Only a seller of the order's items or an admin may record its returns");
  }
  if (!lines.some((line) => line.awaitingReturn > 0)) {
    throw new DomainError("ORDER_NOT_RETURNABLE", "No unit of this order is awaiting return");
  }
  const byProduct = new Map<string, ReturnCounts>();
  for (const item of items) {
    const counts = byProduct.get(item.productId) ?? { resellable: 0, damaged: 0 };
    if (item.condition === "RESELLABLE") counts.resellable += item.quantity;
    else counts.damaged += item.quantity;
    byProduct.set(item.productId, counts);
  }
  const excess: FieldError[] = [];
  items.forEach((item, i) => {
    const line = lines.find((candidate) => candidate.productId === item.productId);
    if (line && actor.role !== "ADMIN" && line.sellerId !== actor.userId) {
      throw new DomainError("FORBIDDEN", `Product ${item.productId} is another seller's`, [
        { path: `items.${i}.productId`, message: "another seller's product: its seller records its return" },
      ]);
    }
    const counts = byProduct.get(item.productId) as ReturnCounts;
    const waiting = line?.awaitingReturn ?? 0;
    if (counts.resellable + counts.damaged > waiting) {
      excess.push({ path: `items.${i}.quantity`, message: `at most ${waiting} of this product are awaited` });
    }
  });
  if (excess.length > 0) {
    throw new DomainError("RETURN_EXCEEDS_AWAITED", "More units than this order awaits would be returned", excess, {
      awaiting: lines
        .filter((line) => line.awaitingReturn > 0)
        .map((line) => ({ productId: line.productId, quantity: line.awaitingReturn })),
    });
  }
  return byProduct;
}

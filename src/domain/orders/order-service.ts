import type { CatalogueService } from "../catalogue/catalogue-service";
import type { Product } from "../catalogue/product";
import { PriceChanged, type StockService } from "../catalogue/stock-service";
import type { OutboxWriter } from "../outbox/ports";
import type { Clock } from "../shared/clock";
import { DomainError, type FieldError } from "../shared/errors";
import type { Page, PageRequest } from "../shared/paging";
import type { UnitOfWork } from "../shared/unit-of-work";
import { assertActsFor, assertOwnerOrAdmin } from "../users/access";
import type { Actor } from "../users/user";
import { applyCancellation } from "./cancellation";
import { type Order, type OrderLine, type OrderView, toOrderView } from "./order";
import { CANCEL_BY_REFUND_STATUSES, ORDER_MACHINE, type OrderParty, type OrderStatus } from "./order-status";
import type { CouponRedemption, NewOrder, OrderRepository } from "./ports";
import { allocateDiscount } from "./pricing";

export interface PlaceOrder {
  userId: string;
  items: { productId: string; quantity: number }[];
  userCouponId?: string;
}

export interface ExpiryRun {
  expired: number;
  failures: { orderId: string; error: unknown }[];
}

interface OrderServiceDeps {
  orders: OrderRepository;
  catalogue: Pick<CatalogueService, "productsByIdsAt">;
  stock: StockService;
  coupons: CouponRedemption;
  /** Cancelling a paid (CONFIRMED or PREPARING) order is a full refund. */
  refunds: { cancelPaid(actor: Actor, orderId: string): Promise<{ order: OrderView; settled: boolean }> };
  outbox: OutboxWriter;
  unitOfWork: UnitOfWork;
  newId: () => string;
  /** ORDER_PAYMENT_TIMEOUT_SECONDS. */
  paymentTimeoutSeconds: number;
  /** ORDER_AUTO_COMPLETE_DAYS. */
  autoCompleteDays: number;
  clock: Clock;
}

const DAY_MS = 24 * 3600 * 1000;
/** Tries at placing an order whose products' prices keep changing under it (a seller editing mid-drop). */
const PLACE_ATTEMPTS = 3;

/**
 * Orders from placement to fulfilment. Placing one reserves its stock, applies its coupon and records it
 * with ORDER_CREATED in one transaction; cancelling an unpaid one (by its buyer, an admin, or expiry)
 * returns the stock and the coupon with ORDER_CANCELLED, once however many cancels race.
 */
export class OrderService {
  constructor(private readonly deps: OrderServiceDeps) {}

  async place(actor: Actor, request: PlaceOrder): Promise<OrderView> {
    assertActsFor(actor, request.userId);
    const orderId = this.deps.newId();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#placeAt(request, orderId);
      } catch (error) {
        // A price changed between the read and the reservation: priced again from the new row (all undone).
        if (!(error instanceof PriceChanged) || attempt >= PLACE_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * One query for every product: unknown, discontinued or plainly short lines fail before anything is written.
   * The order is priced from these rows; the reservation checks that the prices still hold.
   */
  async #orderable(items: PlaceOrder["items"]): Promise<{ products: Map<string, Product>; at: Date }> {
    const read = await this.deps.catalogue.productsByIdsAt(items.map((i) => i.productId));
    const found = new Map(read.products.map((p) => [p.id, p]));
    assertOrderable(items, found);
    return { products: found, at: read.at };
  }

  /**
   * The order priced from its products as read, its coupon, then the order written with its stock reserved in one
   * statement (OrderRepository.place) as the order's last write, and ORDER_CREATED: a hot product's row is locked
   * for that statement and the commit only, not for the rest of the order.
   */
  #placeAt(request: PlaceOrder, orderId: string): Promise<OrderView> {
    // Placing writes in one statement, all or nothing: inside the caller's transaction (an Idempotency-Key's) it
    // needs no savepoint, since a refusal writes nothing and leaves the key free (see hasWritten). A coupon's
    // redemption writes before it, so an order with a coupon keeps its own unit (a savepoint), as an order placed
    // outside a transaction opens one: ORDER_CREATED commits with the order.
    const inUnit = request.userCouponId !== undefined || !this.deps.unitOfWork.inTransaction();
    const place = () => this.#placeIn(request, orderId);
    return inUnit ? this.deps.unitOfWork.withTransaction(place, "read committed") : place();
  }

  async #placeIn(request: PlaceOrder, orderId: string): Promise<OrderView> {
    // Created at the database's time its products were read at: the order as written is known before it is.
    const { products, at } = await this.#orderable(request.items);
    const items: OrderLine[] = request.items.map(({ productId, quantity }) => {
      const product = products.get(productId) as Product;
      return {
        productId,
        sellerId: product.sellerId,
        productName: product.name,
        category: product.category,
        unitPrice: product.price,
        quantity,
        lineTotal: product.price * quantity,
        discountShare: 0,
        refundedAmount: 0,
      };
    });
    const subtotal = items.reduce((sum, line) => sum + line.lineTotal, 0);

    let discountAmount = 0;
    let couponRejectedReason: string | null = null;
    if (request.userCouponId) {
      const redemption = await this.deps.coupons.redeemForOrder({
        userCouponId: request.userCouponId,
        userId: request.userId,
        orderId,
        subtotal,
      });
      if (redemption.applied) discountAmount = Math.min(redemption.discountAmount, subtotal);
      else couponRejectedReason = redemption.reason;
    }
    allocateDiscount(
      items.map((line) => line.lineTotal),
      discountAmount,
    ).forEach((share, i) => {
      (items[i] as OrderLine).discountShare = share;
    });

    const order: NewOrder = {
      id: orderId,
      userId: request.userId,
      items,
      subtotal,
      discountAmount,
      totalAmount: subtotal - discountAmount,
      userCouponId: request.userCouponId ?? null,
      couponApplied: request.userCouponId !== undefined && couponRejectedReason === null,
      couponRejectedReason,
      createdAt: at,
      paymentTimeoutSeconds: this.deps.paymentTimeoutSeconds,
    };
    // ORDER_CREATED is written by the order's own statement (no statement of its own, the hot row not held for one).
    const view = toOrderView(asCreated(order));
    // Known before it is written: a keyed request's answer may ride on the order's statement too.
    this.deps.unitOfWork.answerAhead(view);
    const placed = await this.deps.orders.place(order, { id: this.deps.newId(), payload: view });
    if (!placed) throw await this.#refusal(items);
    await this.deps.stock.movedElsewhere(placed.reserved, placed.committed);
    // The event carries the order as announced: it must be the order as written (else nothing commits).
    const written = toOrderView(placed.order);
    if (JSON.stringify(written) !== JSON.stringify(view)) {
      throw new Error(`order ${orderId} was written otherwise than its ORDER_CREATED says`);
    }
    return written;
  }

  async get(actor: Actor, orderId: string): Promise<OrderView> {
    return toOrderView(await this.#visible(actor, orderId));
  }

  /**
   * A buyer sees its own orders; a seller those it placed or that hold its products; an admin all.
   * `userId` narrows to one buyer (a buyer may only name itself).
   */
  async list(
    actor: Actor,
    filter: { userId?: string; status?: OrderStatus },
    page: PageRequest,
  ): Promise<Page<OrderView>> {
    if (filter.userId && actor.role === "BUYER") assertActsFor(actor, filter.userId);
    const scope =
      actor.role === "ADMIN"
        ? filter
        : actor.role === "SELLER"
          ? { ...filter, visibleTo: actor.userId }
          : { ...filter, userId: actor.userId };
    const found = await this.deps.orders.list(scope, page);
    return { ...found, items: found.items.map(toOrderView) };
  }

  /**
   * Cancels an order for its buyer or an admin. Unpaid: at once, stock and coupon back, ORDER_CANCELLED.
   * CONFIRMED or PREPARING: by a full refund, after which the order is CANCELLED (`settled: false` when the
   * refund did not land within the request: it is retried, and the order is cancelled when it lands).
   */
  async cancel(actor: Actor, orderId: string): Promise<{ order: OrderView; settled: boolean }> {
    const order = await this.#find(orderId);
    assertOwnerOrAdmin(actor, order.userId, "Only the buyer or an admin may cancel an order");
    if (CANCEL_BY_REFUND_STATUSES.includes(order.status)) return this.deps.refunds.cancelPaid(actor, orderId);
    const reason = order.userId === actor.userId ? "CANCELLED_BY_BUYER" : "CANCELLED_BY_ADMIN";
    return this.deps.unitOfWork.withTransaction(async () => {
      const cancelled = await this.deps.orders.cancelUnpaid(orderId, reason);
      if (!cancelled) throw notCancellable((await this.deps.orders.find(orderId)) ?? order);
      await applyCancellation(this.deps, cancelled, "CREATED");
      return { order: toOrderView(cancelled), settled: true };
    });
  }

  /** Moves an order one step along fulfilment (PATCH …/status). */
  async advance(actor: Actor, orderId: string, to: OrderStatus): Promise<OrderView> {
    const order = await this.#visible(actor, orderId);
    const transition = ORDER_MACHINE.find(order.status, to, "advance");
    if (!transition) {
      throw new DomainError(
        "INVALID_ORDER_TRANSITION",
        `An order cannot move from ${order.status} to ${to}`,
        undefined,
        {
          currentStatus: order.status,
        },
      );
    }
    if (!partiesOf(actor, order).some((party) => transition.parties?.includes(party))) {
      throw new DomainError("FORBIDDEN", `Moving an order from ${order.status} to ${to} is not yours to do`);
    }
    const advanced = await this.deps.orders.advance(orderId, order.status, to, this.deps.clock.now());
    if (!advanced) {
      const current = (await this.deps.orders.find(orderId)) ?? order;
      throw new DomainError("INVALID_ORDER_TRANSITION", `The order moved to ${current.status} meanwhile`, undefined, {
        currentStatus: current.status,
      });
    }
    return toOrderView(advanced);
  }

  /**
   * Cancels up to `limit` unpaid orders past their deadline, each in its own savepoint (one failure does
   * not stop the rest). Orders with a payment in flight are left alone until the payment is final.
   */
  async expireDue(limit = 100): Promise<ExpiryRun> {
    return this.deps.unitOfWork.withTransaction(async () => {
      const run: ExpiryRun = { expired: 0, failures: [] };
      for (const orderId of await this.deps.orders.claimExpired(limit)) {
        try {
          await this.deps.unitOfWork.withTransaction(async () => {
            const cancelled = await this.deps.orders.cancelUnpaid(orderId, "EXPIRED");
            if (!cancelled) return;
            await applyCancellation(this.deps, cancelled, "CREATED");
            run.expired++;
          });
        } catch (error) {
          run.failures.push({ orderId, error });
        }
      }
      return run;
    });
  }

  /**
   * Completes up to `limit` DELIVERED orders whose buyer has not confirmed receipt within
   * ORDER_AUTO_COMPLETE_DAYS of delivery (the Clock's now). Safe on every instance at once.
   */
  completeDeliveredDue(limit = 100): Promise<string[]> {
    const deliveredBy = new Date(this.deps.clock.now().getTime() - this.deps.autoCompleteDays * DAY_MS);
    return this.deps.orders.completeDelivered(deliveredBy, limit);
  }

  /** Why the order's lines could not be reserved, naming the line (product-id order) as the request gave it. */
  async #refusal(items: OrderLine[]): Promise<Error> {
    const error = await this.deps.stock.refusalOf(
      items.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, expectedPrice: unitPrice })),
    );
    if (error instanceof DomainError && (error.code === "INSUFFICIENT_STOCK" || error.code === "INVALID_PRODUCT")) {
      const index = items.findIndex((item) => item.productId === error.extensions?.productId);
      const field = error.code === "INSUFFICIENT_STOCK" ? "quantity" : "productId";
      return new DomainError(error.code, error.message, [{ path: `items.${index}.${field}`, message: error.message }]);
    }
    return error;
  }

  async #visible(actor: Actor, orderId: string): Promise<Order> {
    const order = await this.#find(orderId);
    const sells = actor.role === "SELLER" && order.items.some((line) => line.sellerId === actor.userId);
    if (actor.role !== "ADMIN" && order.userId !== actor.userId && !sells) {
      throw new DomainError("FORBIDDEN", "This order is not yours");
    }
    return order;
  }

  async #find(orderId: string): Promise<Order> {
    const order = await this.deps.orders.find(orderId);
    if (!order) throw new DomainError("ORDER_NOT_FOUND", `No order ${orderId}`);
    return order;
  }
}

/** The order `order` is once written: CREATED, nothing paid, its times from `createdAt` (OrderRepository.place). */
function asCreated(order: NewOrder): Order {
  const { createdAt, paymentTimeoutSeconds, ...fields } = order;
  return {
    ...fields,
    items: [...order.items].sort((a, b) => (a.productId < b.productId ? -1 : 1)),
    status: "CREATED",
    paymentId: null,
    paidAmount: 0,
    refundedAmount: 0,
    refundPendingAmount: 0,
    expiresAt: new Date(createdAt.getTime() + paymentTimeoutSeconds * 1000),
    paidAt: null,
    shippedAt: null,
    deliveredAt: null,
    cancelledAt: null,
    cancelReason: null,
    version: 1,
    createdAt,
    updatedAt: createdAt,
  };
}

/** What the actor is to this order (a seller who bought it is its buyer too). */
function partiesOf(actor: Actor, order: Order): OrderParty[] {
  const parties: OrderParty[] = [];
  if (actor.role === "ADMIN") parties.push("admin");
  if (order.userId === actor.userId) parties.push("buyer");
  if (actor.role === "SELLER" && order.items.some((line) => line.sellerId === actor.userId)) parties.push("seller");
  return parties;
}

function assertOrderable(items: PlaceOrder["items"], found: Map<string, Product>): void {
  const invalid: FieldError[] = [];
  const short: FieldError[] = [];
  items.forEach(({ productId, quantity }, i) => {
    const product = found.get(productId);
    if (!product || product.discontinuedAt) {
      invalid.push({ path: `items.${i}.productId`, message: "no such product on sale (unknown or discontinued)" });
    } else if (product.stock < quantity) {
      short.push({ path: `items.${i}.quantity`, message: `only ${product.stock} left` });
    }
  });
  if (invalid.length > 0) {
    throw new DomainError("INVALID_PRODUCT", invalid.map((e) => `${e.path}: ${e.message}`).join("; "), invalid);
  }
  if (short.length > 0) {
    throw new DomainError("INSUFFICIENT_STOCK", short.map((e) => `${e.path}: ${e.message}`).join("; "), short);
  }
}

function notCancellable(order: Order): DomainError {
  if (order.status === "CREATED" && order.paymentId) {
    return new DomainError("PAYMENT_IN_PROGRESS", "A payment of this order is in flight; wait for its outcome");
  }
  if (order.status === "CANCELLED") return new DomainError("ORDER_NOT_CANCELLABLE", "The order is already cancelled");
  return new DomainError("ORDER_NOT_CANCELLABLE", `An order that is ${order.status} can no longer be cancelled`);
}

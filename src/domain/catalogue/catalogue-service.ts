import type { CacheAside } from "../shared/cache-aside";
import { DomainError, validationFailed } from "../shared/errors";
import { UUID } from "../shared/ids";
import type { StorageBudget } from "../shared/storage-budget";
import type { UnitOfWork } from "../shared/unit-of-work";
import { assertOwnerOrAdmin, assertRole } from "../users/access";
import type { Actor } from "../users/user";
import type { CursorState, ListCursors } from "./list-cursor";
import { MODEL_CODE_PATTERN, modelVersion, toModelPage } from "./model-page";
import type { KeysetPosition, ProductEdit, ProductFilter, ProductRepository, ProductSort } from "./ports";
import { type Product, type ProductView, toProductView } from "./product";

export interface NewProductInput {
  name: string;
  description?: string | null;
  brand: string;
  category: string;
  price: number;
  stock: number;
  lowStockThreshold?: number;
  /** The manufacturer's style code and this SKU's size: both or neither. */
  modelCode?: string;
  shoeSize?: string;
}

export interface ProductListRequest {
  filter: ProductFilter;
  sort: ProductSort;
  page: number;
  size: number;
  cursor?: string;
}

export const DEFAULT_LOW_STOCK_THRESHOLD = 5;

/** Cache names, as reported in metrics. */
export const PRODUCT_CACHE = "product";
export const PRODUCT_LIST_CACHE = "product_list";
export const MODEL_CACHE = "model";

const detailKey = (id: string) => `product:${id}`;
const modelKey = (modelCode: string) => `model:${modelCode.toLowerCase()}`;

interface CatalogueDeps {
  products: ProductRepository;
  unitOfWork: UnitOfWork;
  reads: CacheAside;
  cursors: ListCursors;
  /** PRODUCT_CACHE_TTL_SECONDS. */
  ttlSeconds: number;
  /** Bytes the list pages of free-form queries may store per TTL (PRODUCT_LIST_CACHE_BUDGET_BYTES). */
  listBudget: Pick<StorageBudget, "admit">;
  newId: () => string;
}

/** The page size a list uses when none is asked for: canonical pages use it. */
export const DEFAULT_PAGE_SIZE = 20;
/** Canonical lists are stored beyond the budget down to this page. */
const CANONICAL_PAGES = 5;

/**
 * The catalogue: sellers' products and the public reads of them. Reads are cache-aside with a TTL; a
 * product's detail entry is invalidated by version after every committed change (edits here, stock
 * movements in StockService), so the next detail read anywhere shows it. List pages are not invalidated:
 * they may lag by at most the TTL, which keeps them cached through a drop's flood of orders.
 */
export class CatalogueService {
  constructor(private readonly deps: CatalogueDeps) {}

  async create(actor: Actor, input: NewProductInput): Promise<ProductView> {
    assertRole(actor, "SELLER", "ADMIN");
    if ((input.modelCode === undefined) !== (input.shoeSize === undefined)) {
      const missing = input.modelCode === undefined ? "modelCode" : "shoeSize";
      throw validationFailed(missing, "modelCode and shoeSize go together: send both or neither");
    }
    const product = await this.deps.products.insert({
      id: this.deps.newId(),
      sellerId: actor.userId,
      name: input.name,
      description: input.description ?? null,
      brand: input.brand,
      category: input.category,
      price: input.price,
      stock: input.stock,
      lowStockThreshold: input.lowStockThreshold ?? DEFAULT_LOW_STOCK_THRESHOLD,
      modelCode: input.modelCode ?? null,
      shoeSize: input.shoeSize ?? null,
    });
    // A new offer of a model shows on its page at once (at once here, or when the caller's transaction commits).
    if (product.modelCode) await this.invalidateAfterCommit([product]);
    return toProductView(product);
  }

  /** Applies `edit` if the product is still at `version` (else 409 VERSION_CONFLICT). */
  async edit(actor: Actor, id: string, version: number, edit: ProductEdit): Promise<ProductView> {
    await this.#ownedBy(actor, id);
    const edited = await this.deps.unitOfWork.withTransaction(async () => {
      const updated = await this.deps.products.editIfVersion(id, version, edit);
      if (updated) await this.invalidateAfterCommit([updated]);
      return updated;
    });
    if (edited) return toProductView(edited);
    const current = await this.#find(id);
    throw new DomainError(
      "VERSION_CONFLICT",
      `The product is at version ${current.version}, not ${version}; read it again and reapply the change`,
      undefined,
      { currentVersion: current.version },
    );
  }

  async discontinue(actor: Actor, id: string): Promise<ProductView> {
    await this.#ownedBy(actor, id);
    const product = await this.deps.unitOfWork.withTransaction(async () => {
      const discontinued = await this.deps.products.discontinue(id);
      if (discontinued) await this.invalidateAfterCommit([discontinued]);
      return discontinued;
    });
    if (!product) throw notFound(id);
    return toProductView(product);
  }

  /** The products with these ids (those that exist), straight from the database in one query. */
  productsByIds(ids: string[]): Promise<Product[]> {
    return this.deps.products.findMany(ids);
  }

  /** The same, with the database's time they were read at (an order's products: it is created at that time). */
  productsByIdsAt(ids: string[]): Promise<{ products: Product[]; at: Date }> {
    return this.deps.products.findManyAt(ids);
  }

  /**
   * The product's page if this process holds a near copy of it now (exact: copies are dropped on every instance
   * when it changes), else undefined (read it through productBody).
   */
  nearProductBody(id: string): string | undefined {
    const normalised = id.toLowerCase();
    if (!UUID.test(normalised)) return undefined;
    return this.deps.reads.peekVersioned(PRODUCT_CACHE, detailKey(normalised));
  }

  /** The product as a serialised JSON body, through the cache. */
  productBody(id: string): Promise<string> {
    const normalised = id.toLowerCase();
    // A malformed id names no product: 404 like an unknown one, without asking the database.
    if (!UUID.test(normalised)) return Promise.reject(notFound(id));
    return this.deps.reads.readVersioned(PRODUCT_CACHE, detailKey(normalised), this.deps.ttlSeconds, async () => {
      const product = await this.deps.products.find(normalised);
      if (!product) throw notFound(id);
      return { version: product.version, body: JSON.stringify(toProductView(product)) };
    });
  }

  /**
   * A model's page (every seller's live offer by size) as a serialised JSON body, through the cache: one query
   * on a miss, and as fresh as a product's page (invalidated, by the model's version, after every committed
   * change to any of its products and every new one).
   */
  modelBody(modelCode: string): Promise<string> {
    if (!MODEL_CODE_PATTERN.test(modelCode)) return Promise.reject(modelNotFound(modelCode));
    return this.deps.reads.readVersioned(MODEL_CACHE, modelKey(modelCode), this.deps.ttlSeconds, async () => {
      const products = await this.deps.products.findModel(modelCode);
      const page = toModelPage(products);
      if (!page) throw modelNotFound(modelCode);
      return { version: modelVersion(products), body: JSON.stringify(page) };
    });
  }

  /**
   * The cache key (and canonical filter) of each frozen request without a cursor met lately: the route hands the
   * same frozen request for the same query string (its validation is remembered per text), so a drop's repeated
   * list is keyed once, not on every read. Weak: it goes with the route's memory of the query.
   */
  readonly #listKeys = new WeakMap<ProductListRequest, { filter: string; key: string; canonical: boolean }>();

  /**
   * The page of a list request met before, if this process holds its near copy now (it lags by at most the TTL,
   * as every list page); else undefined (read it through listBody).
   */
  nearListBody(request: ProductListRequest): string | undefined {
    const known = this.#listKeys.get(request);
    return known === undefined ? undefined : this.deps.reads.peek(PRODUCT_LIST_CACHE, known.key);
  }

  /**
   * One page of products as a serialised JSON body, through the cache. The key is the query's meaning, not
   * its spelling (canonical filters, defaults applied, a cursor's decoded position instead of its text and
   * of the page it overrides). Anyone may ask any query, so only the canonical pages (no free-form filter,
   * default size, the first few pages: a small, fixed set that drops flood) are always stored; the others
   * are stored within a shared byte budget per TTL and served from the database beyond it.
   */
  listBody(request: ProductListRequest): Promise<string> {
    let known = this.#listKeys.get(request);
    let state: CursorState | undefined;
    if (known === undefined) {
      const filter = canonicalFilter(request.filter);
      state = request.cursor ? this.deps.cursors.decode(request.cursor, { sort: request.sort, filter }) : undefined;
      const position = state ? [state.page, state.position.key, state.position.id] : [request.page];
      const key = `products:list:${JSON.stringify([filter, request.sort, request.size, ...position])}`;
      known = { filter, key, canonical: isCanonical(request) };
      if (!request.cursor && Object.isFrozen(request)) this.#listKeys.set(request, known);
    }
    const { filter, key } = known;
    const admit = known.canonical
      ? undefined
      : (body: string) => this.deps.listBudget.admit(Buffer.byteLength(key) + Buffer.byteLength(body));
    return this.deps.reads.read(
      PRODUCT_LIST_CACHE,
      key,
      this.deps.ttlSeconds,
      () => this.#loadPage(request, filter, state),
      admit,
    );
  }

  /**
   * Called by every write of a product (edits, orders, cancellations, payments, refunds): once the
   * transaction commits, the detail entries of `changed` become tombstones of their new versions.
   */
  invalidateAfterCommit(
    changed: (Pick<Product, "id" | "version"> & { modelCode?: string | null })[],
  ): Promise<void> | void {
    return this.deps.unitOfWork.afterCommit(() => this.invalidateCommitted(changed));
  }

  /**
   * The same for a write already committed outside the caller's transaction (an order placed by a group's
   * statement, OrderRepository.place): now, whether the caller's transaction then commits or rolls back.
   */
  async invalidateCommitted(
    changed: (Pick<Product, "id" | "version"> & { modelCode?: string | null })[],
  ): Promise<void> {
    await Promise.all([
      ...changed.map((product) =>
        this.deps.reads.invalidate(PRODUCT_CACHE, detailKey(product.id), product.version, this.deps.ttlSeconds),
      ),
      this.#invalidateModels(changed),
    ]);
  }

  /**
   * The pages of the models `changed` belong to become tombstones of the models' versions as committed now (one
   * query, only when a model's product changed): a load that began before this write saw a smaller sum.
   */
  async #invalidateModels(changed: { modelCode?: string | null }[]): Promise<void> {
    const codes = [
      ...new Set(changed.flatMap((product) => (product.modelCode ? [product.modelCode.toLowerCase()] : []))),
    ];
    if (codes.length === 0) return;
    const versions = await this.deps.products.modelVersions(codes);
    await Promise.all(
      [...versions].map(([code, version]) =>
        this.deps.reads.invalidate(MODEL_CACHE, modelKey(code), version, this.deps.ttlSeconds),
      ),
    );
  }

  async #loadPage(request: ProductListRequest, filter: string, state: CursorState | undefined): Promise<string> {
    const { sort, size } = request;
    const page = state?.page ?? request.page;
    // One row more than the page tells whether a next page exists.
    const { items, total } = await this.deps.products.list({
      filter: request.filter,
      sort,
      limit: size + 1,
      after: state?.position,
      offset: (page - 1) * size,
    });
    const shown = items.slice(0, size);
    const last = shown.at(-1);
    const nextCursor =
      items.length > size && last
        ? this.deps.cursors.encode({ sort, filter, position: positionOf(last, sort), page: page + 1 })
        : null;
    return JSON.stringify({ items: shown.map(toProductView), page, size, total, nextCursor });
  }

  async #ownedBy(actor: Actor, id: string): Promise<Product> {
    assertRole(actor, "SELLER", "ADMIN");
    const product = await this.#find(id);
    assertOwnerOrAdmin(actor, product.sellerId, "Only the product's seller or an admin may change it");
    return product;
  }

  async #find(id: string): Promise<Product> {
    // A malformed id names no product (and PostgreSQL would refuse it as a uuid): 404 like an unknown one.
    if (!UUID.test(id.toLowerCase())) throw notFound(id);
    const product = await this.deps.products.find(id);
    if (!product) throw notFound(id);
    return product;
  }
}

const notFound = (id: string) => new DomainError("PRODUCT_NOT_FOUND", `No product ${id}`);
const modelNotFound = (modelCode: string) =>
  new DomainError("MODEL_NOT_FOUND", `No seller offers the model ${modelCode} (or every offer is discontinued)`);

/** Only a status (one of a few) to filter on, the default size, one of the first pages, no cursor. */
function isCanonical({ filter, size, page, cursor }: ProductListRequest): boolean {
  const { status: _status, ...freeForm } = filter;
  const anyFreeForm = Object.values(freeForm).some((value) => value !== undefined);
  return !anyFreeForm && cursor === undefined && size === DEFAULT_PAGE_SIZE && page <= CANONICAL_PAGES;
}

/** Filters as one string, case-folded where matching ignores case: the cursor's and the cache key's query. */
function canonicalFilter(filter: ProductFilter): string {
  return JSON.stringify([
    filter.q?.toLowerCase() ?? null,
    filter.category?.toLowerCase() ?? null,
    filter.brand?.toLowerCase() ?? null,
    filter.minPrice ?? null,
    filter.maxPrice ?? null,
    filter.status ? [...new Set(filter.status)].sort() : null,
    filter.onSale ?? null,
    filter.sellerId ?? null,
    filter.modelCode?.toLowerCase() ?? null,
    filter.shoeSize ?? null,
  ]);
}

function positionOf(product: Product, sort: ProductSort): KeysetPosition {
  switch (sort) {
    case "newest":
      return { key: product.createdAt.toISOString(), id: product.id };
    case "price_asc":
    case "price_desc":
      return { key: product.price, id: product.id };
    case "popular":
      return { key: product.soldQuantity, id: product.id };
  }
}

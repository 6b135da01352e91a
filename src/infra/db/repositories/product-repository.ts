import {
  and,
  asc,
  count,
  desc,
  eq,
  getTableColumns,
  gte,
  ilike,
  inArray,
  isNull,
  lte,
  ne,
  notInArray,
  type SQL,
  sql,
} from "drizzle-orm";
import type {
  KeysetPosition,
  NewProduct,
  ProductEdit,
  ProductFilter,
  ProductListQuery,
  ProductRepository,
  ProductSort,
  ReturnLine,
  StockLine,
} from "../../../domain/catalogue/ports";
import { ON_SALE_STATUSES, type Product } from "../../../domain/catalogue/product";
import { DomainError } from "../../../domain/shared/errors";
import { isUniqueViolation } from "../../dependency-errors";
import { columnsOf, fromRow } from "../rows";
import { productPopularity, products } from "../schema";
import { type Slots, SqlStatement, Statement } from "../statements";
import type { Transactions } from "../transactions";
import { type KeyParams, keyLookCte, keyLookOf, keyParams } from "./idempotency-repository";
import { carriesOutboxEvents } from "./outbox-repository";

type Row = typeof products.$inferSelect;
type StockCounter = "stock" | "reservedStock" | "soldQuantity" | "awaitingReturn" | "writtenOff";

const toProduct = ({
  status: _s,
  unitsStocked: _u,
  categoryKey: _c,
  brandKey: _b,
  modelKey: _m,
  ...product
}: Row): Product => product;

/**
 * The ids of `line`'s products as one array (an InitPlan), for every read of `products` below: `id = any(array)`
 * is looked up in the primary key. Joined on `line` alone, the planner (which takes json_to_recordset for 100
 * rows, and keeps the plan it made once for the prepared statement) hashed `line` and read the whole catalogue,
 * twice per order: PostgreSQL's CPU per order grew with the number of products (docs/checkout-performance.md,
 * "PostgreSQL's CPU per checkout").
 */
const lineProductIds = (line: string) => sql`array(select product_id from ${sql.raw(line)})`;

/**
 * An order's reservation, the first part of the one statement that places an order (order-repository.ts,
 * `order_place`), over `line` (a CTE of the order's lines: product_id, quantity, unit_price). `locked_products`
 * locks the lines' products in product-id order (the lock order of every stock movement), one after the other as
 * the statement reads it; `reserved` moves only rows it returned, so whatever plan PostgreSQL picks, every row
 * the statement locks is locked in that order, and what it holds is always the first of the order's products in
 * that order (a retry in the same transaction, PriceChanged, only goes on up it). `reservable` says whether every
 * line can be reserved, both on the rows as locked (their latest versions) and on the statement's snapshot of
 * them (the plain join: an UPDATE filters its rows on the snapshot before it re-checks a row changed meanwhile,
 * so a row short in the snapshot and back in stock once locked would match nothing); `reserved` moves nothing
 * unless every line passes both, so a refusal writes no line at all: a line moved beside a refused one would
 * stay moved in the caller's transaction, which has no savepoint (and is reserved again when the order is
 * priced again). A row that passes only once locked is refused, and priced again in a new statement. `reserved` moves
 * each line's units from stock to reserved stock only where the product is still in stock, on sale and at the
 * price charged (re-checked on the row as it is once locked), and returns what a moved product's cached details are dropped
 * by (id, version, model_code). The caller compares its row count with its lines: the order
 * is written only if every line was reserved.
 */
export const reservationCtes = (line: string) => {
  const lines = sql.raw(line);
  return sql`
  locked_products as materialized (
    select ${products.id}, ${products.stock}, ${products.price}, ${products.discontinuedAt} from ${products}
    where ${products.id} = any(${lineProductIds(line)})
    order by ${products.id}
    for update
  ), reservable as (
    select count(*) = (select count(*) from ${lines}) as every_line
    from ${lines}
      join locked_products on locked_products.id = ${lines}.product_id
      join ${products} on ${products.id} = ${lines}.product_id and ${products.id} = any(${lineProductIds(line)})
    where locked_products.stock >= ${lines}.quantity and locked_products.discontinued_at is null
      and locked_products.price = ${lines}.unit_price
      and ${products.stock} >= ${lines}.quantity and ${products.discontinuedAt} is null
      and ${products.price} = ${lines}.unit_price
  ), reserved as (
    update ${products}
    set stock = ${products.stock} - ${lines}.quantity,
      reserved_stock = ${products.reservedStock} + ${lines}.quantity,
      version = ${products.version} + 1, updated_at = now()
    from ${lines}, locked_products
    where (select every_line from reservable)
      and ${products.id} = any(${lineProductIds(line)})
      and ${products.id} = ${lines}.product_id and locked_products.id = ${products.id}
      and ${products.stock} >= ${lines}.quantity and ${products.discontinuedAt} is null
      and ${products.price} = ${lines}.unit_price
    returning ${products.id}, ${products.version}, ${products.modelCode}
  )`;
};

/**
 * The reservation of a group of orders placed by one statement (order-repository.ts, `order_place_group`), over
 * `line` (a CTE of every member's lines: ord, the member's place in arrival order, product_id, quantity,
 * unit_price) and `member` (one row per member: ord). `group_locked` locks every product of the group once, in
 * product-id order (the lock order of every stock movement: a group and any order or group of another process
 * never deadlock). A member is `group_accepted` only if each of its lines fits when every EARLIER member's units of
 * that product are counted as taken, accepted or not (a conservative prefix sum, `upto`), on the row as locked and
 * as in the statement's snapshot (as `reservable` above: the UPDATE filters on the snapshot first), on sale and at
 * the price charged. `group_total` is each product's units over the accepted members, and `group_moved` moves them
 * in ONE update per product (groupMoveCtes, over the members the group takes: accepted, and whose key's answer was
 * stored): the hot row is written once for the whole group. `group_moved` re-checks the stock;
 * the statement fails if it moved fewer products than `group_total` names (see order_place_group), so the group
 * can never oversell. Members not accepted are left to their own statement (exact refusals, prices read again).
 */
export const groupFitCtes = (line: string, member: string) => {
  const lines = sql.raw(line);
  const members = sql.raw(member);
  return sql`
  group_locked as materialized (
    select ${products.id}, ${products.stock}, ${products.price}, ${products.discontinuedAt} from ${products}
    where ${products.id} = any(${lineProductIds(line)})
    order by ${products.id}
    for update
  ), group_fit as (
    select ranked.ord,
      coalesce(group_locked.stock >= ranked.upto and group_locked.discontinued_at is null
        and group_locked.price = ranked.unit_price
        and ${products.stock} >= ranked.upto and ${products.discontinuedAt} is null
        and ${products.price} = ranked.unit_price, false) as fits
    from (select ${lines}.ord, ${lines}.product_id, ${lines}.unit_price,
        sum(${lines}.quantity) over (partition by ${lines}.product_id order by ${lines}.ord) as upto
      from ${lines}) as ranked
      left join group_locked on group_locked.id = ranked.product_id
      left join ${products} on ${products.id} = ranked.product_id and ${products.id} = any(${lineProductIds(line)})
  ), group_accepted as (
    select ${members}.ord from ${members}
    where not exists (select from group_fit where group_fit.ord = ${members}.ord and not group_fit.fits)
  )`;
};

/** The second part of a group's reservation (see groupFitCtes): the units of the members in `taken` (ord) moved. */
export const groupMoveCtes = (line: string, taken: string) => {
  const lines = sql.raw(line);
  return sql`
  group_total as (
    select ${lines}.product_id, sum(${lines}.quantity)::int as quantity from ${lines}
    where ${lines}.ord in (select ord from ${sql.raw(taken)})
    group by ${lines}.product_id
  ), group_moved as (
    update ${products}
    set stock = ${products.stock} - group_total.quantity,
      reserved_stock = ${products.reservedStock} + group_total.quantity,
      version = ${products.version} + 1, updated_at = now()
    from group_total, group_locked
    where ${products.id} = any(array(select product_id from group_total))
      and ${products.id} = group_total.product_id and group_locked.id = ${products.id}
      and ${products.stock} >= group_total.quantity and ${products.discontinuedAt} is null
    returning ${products.id}, ${products.version}, ${products.modelCode}
  )`;
};

/**
 * A paid order's sale, a part of the one statement that completes its payment (payment-repository.ts,
 * `payment_complete`), over `line` (a CTE of the order's lines: product_id, quantity). `sale_locked` locks the lines'
 * products in product-id order (the lock order of every stock movement, as `locked_products` above), and `sold` moves
 * only rows it returned: each line's units from reserved to sold stock, where the product still holds them reserved,
 * returning what a moved product's cached details are dropped by. The caller checks that every line was sold.
 */
export const saleCtes = (line: string) => {
  const lines = sql.raw(line);
  return sql`
  sale_locked as materialized (
    select ${products.id} from ${products}
    where ${products.id} = any(${lineProductIds(line)})
    order by ${products.id}
    for update
  ), sold as (
    update ${products}
    set reserved_stock = ${products.reservedStock} - ${lines}.quantity,
      sold_quantity = ${products.soldQuantity} + ${lines}.quantity,
      version = ${products.version} + 1, updated_at = now()
    from ${lines}, sale_locked
    where ${products.id} = any(${lineProductIds(line)})
      and ${products.id} = ${lines}.product_id and sale_locked.id = ${products.id}
      and ${products.reservedStock} >= ${lines}.quantity
    returning ${products.id}, ${products.version}, ${products.modelCode}
  )`;
};

/** LIKE's wildcards in a client's search text are literal characters, not patterns. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, (char) => `\\${char}`);

function filterConditions(filter: ProductFilter): SQL[] {
  const conditions: SQL[] = [];
  if (filter.q) conditions.push(ilike(products.name, `%${escapeLike(filter.q)}%`));
  if (filter.category) conditions.push(eq(products.categoryKey, filter.category.toLowerCase()));
  if (filter.brand) conditions.push(eq(products.brandKey, filter.brand.toLowerCase()));
  if (filter.minPrice !== undefined) conditions.push(gte(products.price, filter.minPrice));
  if (filter.maxPrice !== undefined) conditions.push(lte(products.price, filter.maxPrice));
  // The default list leaves discontinued products out; asking for statuses (DISCONTINUED among them) replaces that.
  if (filter.status) conditions.push(inArray(products.status, filter.status));
  else conditions.push(ne(products.status, "DISCONTINUED"));
  if (filter.onSale === true) conditions.push(inArray(products.status, [...ON_SALE_STATUSES]));
  if (filter.onSale === false) conditions.push(notInArray(products.status, [...ON_SALE_STATUSES]));
  if (filter.sellerId) conditions.push(eq(products.sellerId, filter.sellerId));
  if (filter.modelCode) conditions.push(eq(products.modelKey, filter.modelCode.toLowerCase()));
  if (filter.shoeSize) conditions.push(eq(products.shoeSize, filter.shoeSize));
  return conditions;
}

/**
 * Each sort: its ORDER BY (the id breaks ties) and the keyset condition "after this position". `popular` sorts on
 * product_popularity (joined by the list), whose index is its order: its sold_quantity is the product's, kept in
 * the same statement (schema/products.ts says why it is not an index of products).
 */
const ORDERINGS: Record<ProductSort, { orderBy: SQL[]; after: (position: KeysetPosition) => SQL }> = {
  newest: {
    orderBy: [desc(products.createdAt), desc(products.id)],
    after: ({ key, id }) => sql`(${products.createdAt}, ${products.id}) < (${key}::timestamptz, ${id}::uuid)`,
  },
  price_asc: {
    orderBy: [asc(products.price), asc(products.id)],
    after: ({ key, id }) => sql`(${products.price}, ${products.id}) > (${key}::bigint, ${id}::uuid)`,
  },
  price_desc: {
    orderBy: [desc(products.price), desc(products.id)],
    after: ({ key, id }) => sql`(${products.price}, ${products.id}) < (${key}::bigint, ${id}::uuid)`,
  },
  popular: {
    orderBy: [desc(productPopularity.soldQuantity), desc(productPopularity.productId)],
    after: ({ key, id }) =>
      sql`(${productPopularity.soldQuantity}, ${productPopularity.productId}) < (${key}::integer, ${id}::uuid)`,
  },
};

type Movement = Slots<{ id: string; quantity: number }>;

/** A row of an order's products read: the database's time, then the product's columns (null: none matched). */
type ReadAtRow = Record<string, unknown> & { read_at: unknown };
/** The columns of a key's look taken in by that read. */
type LookingRow = { key_free: unknown; key_row: unknown };

/** The statements of the order and payment path, built once (statements.ts); the rest stays on the builder. */
function hotStatements(tx: Transactions) {
  /** One conditional UPDATE: the counters move and the version bumps only if `condition` holds. */
  const movement = <Params extends { id: string; quantity: number }>(
    name: string,
    counters: ($: Slots<Params>) => Partial<Record<StockCounter, SQL>>,
    condition: ($: Slots<Params>) => SQL | undefined,
  ) =>
    new Statement(
      name,
      tx,
      (db, $: Slots<Params>) =>
        db
          .update(products)
          .set({ ...counters($), version: sql`${products.version} + 1`, updatedAt: sql`now()` })
          .where(and(eq(products.id, $.id), condition($)))
          .returning(),
      // Often its transaction's last write (a cancelled or expired order's units released): the events it appended
      // ride on it. (An order's reservation and a payment's sale are parts of their own statements.)
      { carrier: carriesOutboxEvents },
    );
  return {
    // Reads: they write nothing and lock no row, so they do not make hasWritten ask PostgreSQL (an order refused
    // at its reservation reads its products again to say why, and must still read as having written nothing).
    byId: new Statement(
      "product_by_id",
      tx,
      (db, $: Slots<{ id: string }>) => db.select().from(products).where(eq(products.id, $.id)),
      { writesNothing: true },
    ),
    byIds: new Statement(
      "products_by_ids",
      tx,
      (db, $: Slots<{ ids: string[] }>) =>
        db.select().from(products).where(sql`${products.id} = any(${$.ids}::uuid[])`),
      { writesNothing: true },
    ),
    // An order's read of its products (findManyAt): with the database's time (`read_at`, the order is created at it),
    // and one row even when no product matched. As a keyed transaction's first statement, taking in the key's look
    // (UnitOfWork.withKeyLook): one round trip fewer.
    byIdAt: new SqlStatement<{ id: string }, ReadAtRow>(
      "product_by_id_at",
      tx,
      ($) => sql`
        select now() as read_at, ${columnsOf(products, "p")}
        from (select 1) as one left join ${products} p on p.id = ${$.id}`,
      { writesNothing: true },
    ),
    byIdsAt: new SqlStatement<{ ids: string[] }, ReadAtRow>(
      "products_by_ids_at",
      tx,
      ($) => sql`
        select now() as read_at, ${columnsOf(products, "p")}
        from (select 1) as one left join ${products} p on p.id = any(${$.ids}::uuid[])`,
      { writesNothing: true },
    ),
    byIdLookingKey: new SqlStatement<KeyParams & { id: string }, ReadAtRow & LookingRow>(
      "product_by_id_looking_key",
      tx,
      ($) => sql`
        with ${keyLookCte($)}
        select key_look.key_free, key_look.key_row, now() as read_at, ${columnsOf(products, "p")}
        from key_look left join ${products} p on p.id = ${$.id}`,
      { writesNothing: true },
    ),
    byIdsLookingKey: new SqlStatement<KeyParams & { ids: string[] }, ReadAtRow & LookingRow>(
      "products_by_ids_looking_key",
      tx,
      ($) => sql`
        with ${keyLookCte($)}
        select key_look.key_free, key_look.key_row, now() as read_at, ${columnsOf(products, "p")}
        from key_look left join ${products} p on p.id = any(${$.ids}::uuid[])`,
      { writesNothing: true },
    ),
    /** Reserved only while the product still costs `expectedPrice` (null: whatever it costs). */
    reserve: movement<{ id: string; quantity: number; expectedPrice: number | null }>(
      "product_reserve",
      ($) => ({
        stock: sql`${products.stock} - ${$.quantity}`,
        reservedStock: sql`${products.reservedStock} + ${$.quantity}`,
      }),
      ($) =>
        and(
          gte(products.stock, $.quantity),
          isNull(products.discontinuedAt),
          sql`(${$.expectedPrice}::bigint is null or ${products.price} = ${$.expectedPrice}::bigint)`,
        ),
    ),
    release: movement(
      "product_release",
      ($: Movement) => ({
        reservedStock: sql`${products.reservedStock} - ${$.quantity}`,
        stock: sql`${products.stock} + ${$.quantity}`,
      }),
      ($) => gte(products.reservedStock, $.quantity),
    ),
  };
}

export class DrizzleProductRepository implements ProductRepository {
  readonly #hot: ReturnType<typeof hotStatements>;

  constructor(private readonly tx: Transactions) {
    this.#hot = hotStatements(tx);
  }

  async insert(product: NewProduct): Promise<Product> {
    try {
      const [row] = await this.tx.current
        .insert(products)
        .values({ ...product, unitsStocked: product.stock })
        .returning();
      return toProduct(row as Row);
    } catch (error) {
      // The only unique key a new product can meet (ids are fresh): the seller's (model, size), products_seller_sku.
      if (isUniqueViolation(error)) {
        throw new DomainError(
          "SKU_TAKEN",
          `You already sell ${product.modelCode} in size ${product.shoeSize}; edit that product instead`,
          [{ path: "shoeSize", message: "this seller already sells this model in this size" }],
        );
      }
      throw error;
    }
  }

  async find(id: string): Promise<Product | undefined> {
    const [row] = await this.#hot.byId.run({ id });
    return row && toProduct(row);
  }

  async findMany(ids: string[]): Promise<Product[]> {
    if (ids.length === 0) return [];
    // One id (an order of one product, the usual one) by `product_by_id`: PostgreSQL plans `products_by_ids`
    // afresh on every run (its generic plan assumes 10 ids, never cheaper than a custom plan for one), ~70 µs of
    // its CPU per order; `id = $1` keeps its generic plan (docs/checkout-performance.md, "PostgreSQL's CPU per
    // checkout").
    const rows =
      ids.length === 1 ? await this.#hot.byId.run({ id: ids[0] as string }) : await this.#hot.byIds.run({ ids });
    return rows.map(toProduct);
  }

  async findManyAt(ids: string[]): Promise<{ products: Product[]; at: Date }> {
    const look = this.tx.takeKeyLook();
    const one = ids.length === 1 ? (ids[0] as string) : undefined;
    let rows: ReadAtRow[];
    if (look) {
      const key = keyParams(look.id);
      rows =
        one === undefined
          ? await this.#hot.byIdsLookingKey.run({ ...key, ids })
          : await this.#hot.byIdLookingKey.run({ ...key, id: one });
      // Throws when the request is not to run (the key held, answered, or used with another body).
      look.settle(keyLookOf(rows[0] as LookingRow | undefined));
    } else {
      rows = one === undefined ? await this.#hot.byIdsAt.run({ ids }) : await this.#hot.byIdAt.run({ id: one });
    }
    return {
      products: rows.filter((row) => row.id !== null).map((row) => toProduct(fromRow(products, row))),
      at: products.createdAt.mapFromDriverValue((rows[0] as ReadAtRow).read_at as string) as Date,
    };
  }

  async editIfVersion(id: string, version: number, edit: ProductEdit): Promise<Product | undefined> {
    const { stock, ...fields } = edit;
    const [row] = await this.tx.current
      .update(products)
      .set({
        ...fields,
        // Setting the orderable stock moves the units stocked by the same amount: the invariant holds.
        ...(stock === undefined
          ? {}
          : { stock, unitsStocked: sql`${products.unitsStocked} + ${stock} - ${products.stock}` }),
        version: sql`${products.version} + 1`,
        updatedAt: sql`now()`,
      })
      .where(and(eq(products.id, id), eq(products.version, version)))
      .returning();
    return row && toProduct(row);
  }

  async discontinue(id: string): Promise<Product | undefined> {
    const [row] = await this.tx.current
      .update(products)
      .set({ discontinuedAt: sql`now()`, version: sql`${products.version} + 1`, updatedAt: sql`now()` })
      .where(and(eq(products.id, id), isNull(products.discontinuedAt)))
      .returning();
    return row ? toProduct(row) : this.find(id);
  }

  async list({ filter, sort, limit, after, offset }: ProductListQuery): Promise<{ items: Product[]; total: number }> {
    const ordering = ORDERINGS[sort];
    const matching = and(...filterConditions(filter));
    const page = this.tx.current.select(getTableColumns(products)).from(products).$dynamic();
    const [rows, counted] = await Promise.all([
      (sort === "popular" ? page.innerJoin(productPopularity, eq(productPopularity.productId, products.id)) : page)
        .where(after ? and(matching, ordering.after(after)) : matching)
        .orderBy(...ordering.orderBy)
        .limit(limit)
        .offset(after ? 0 : offset),
      this.tx.current.select({ total: count() }).from(products).where(matching),
    ]);
    return { items: rows.map(toProduct), total: counted[0]?.total ?? 0 };
  }

  async findModel(modelCode: string): Promise<Product[]> {
    const rows = await this.tx.current.select().from(products).where(eq(products.modelKey, modelCode.toLowerCase()));
    return rows.map(toProduct);
  }

  async modelVersions(modelCodes: string[]): Promise<Map<string, number>> {
    if (modelCodes.length === 0) return new Map();
    const rows = await this.tx.current
      .select({ modelKey: products.modelKey, version: sql<number>`sum(${products.version})`.mapWith(Number) })
      .from(products)
      .where(
        inArray(
          products.modelKey,
          modelCodes.map((code) => code.toLowerCase()),
        ),
      )
      .groupBy(products.modelKey);
    return new Map(rows.map((row) => [row.modelKey as string, row.version]));
  }

  async reserve({
    productId,
    quantity,
    expectedPrice,
  }: StockLine & { expectedPrice?: number }): Promise<Product | undefined> {
    const [row] = await this.#hot.reserve.run({ id: productId, quantity, expectedPrice: expectedPrice ?? null });
    return row && toProduct(row);
  }

  async release({ productId, quantity }: StockLine): Promise<Product | undefined> {
    const [row] = await this.#hot.release.run({ id: productId, quantity });
    return row && toProduct(row);
  }

  restock({ productId, quantity }: StockLine): Promise<Product | undefined> {
    return this.#move(
      productId,
      { soldQuantity: sql`${products.soldQuantity} - ${quantity}`, stock: sql`${products.stock} + ${quantity}` },
      gte(products.soldQuantity, quantity),
    );
  }

  awaitReturn({ productId, quantity }: StockLine): Promise<Product | undefined> {
    return this.#move(
      productId,
      {
        soldQuantity: sql`${products.soldQuantity} - ${quantity}`,
        awaitingReturn: sql`${products.awaitingReturn} + ${quantity}`,
      },
      gte(products.soldQuantity, quantity),
    );
  }

  receiveReturn({ productId, resellable, damaged }: ReturnLine): Promise<Product | undefined> {
    return this.#move(
      productId,
      {
        awaitingReturn: sql`${products.awaitingReturn} - ${resellable + damaged}`,
        stock: sql`${products.stock} + ${resellable}`,
        writtenOff: sql`${products.writtenOff} + ${damaged}`,
      },
      gte(products.awaitingReturn, resellable + damaged),
    );
  }

  /** One conditional UPDATE: the counters move and the version bumps only if `condition` holds. */
  async #move(id: string, counters: Partial<Record<StockCounter, SQL>>, condition?: SQL) {
    const [row] = await this.tx.current
      .update(products)
      .set({ ...counters, version: sql`${products.version} + 1`, updatedAt: sql`now()` })
      .where(and(eq(products.id, id), condition))
      .returning();
    return row && toProduct(row);
  }
}

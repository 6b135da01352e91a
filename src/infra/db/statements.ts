import { Column, DrizzleQueryError, getTableName, is, Param, Placeholder, SQL, Subquery, sql } from "drizzle-orm";
import { PgDialect, type PgPreparedQuery, type PreparedQueryConfig } from "drizzle-orm/pg-core";
import type { Sql, TransactionSql } from "postgres";
import { CASING, type Database, rowsOf } from "./client";
import type { Deferred, Transactions } from "./transactions";

/**
 * Statements built once (issue 18). A hot statement is written with drizzle's builder (or, for a data-modifying
 * CTE, a `sql` template) over placeholders, one per parameter. Its SQL text, its parameter order and its row
 * mapping are computed the first time it runs and kept; every run after that only binds the values and sends
 * the statement to the innermost open level (the pool, a transaction or a savepoint), as a prepared statement.
 *
 * On postgres.js it goes to that level's connection itself (`Transactions.connection`): postgres.js prepares it
 * once per connection (Parse once, then Bind/Execute only, no describe round trip); the values are bound and the
 * rows mapped here as drizzle's `PostgresJsPreparedQuery.execute` binds and maps them, with each slot's encoder and
 * each field's decoder found once (`direct`), and a failure is drizzle's `DrizzleQueryError` with the driver's
 * error as its cause. No drizzle object is made per run or per transaction (issue 18: CPU per statement).
 *
 * On PGlite the built query is handed to each session's public `prepareQuery` (what `.prepare()` itself calls),
 * once per session. drizzle's `.prepare()` alone does not fit: its prepared query is bound to the session it was
 * built on, so it cannot run inside a transaction opened later.
 */

/** A statement's parameters as drizzle placeholders, written where the builder takes a value (`$.orderId`). */
export type Slots<Params> = { readonly [K in keyof Params & string]: Placeholder<K, Params[K]> };

/** What a builder's `.prepare()` gives: anything drizzle can prepare (select, insert, update, relational query). */
interface Preparable<Result> {
  prepare(name: string): PgPreparedQuery<PreparedQueryConfig & { execute: Result }>;
}

type AnyPrepared = PgPreparedQuery<PreparedQueryConfig>;

/**
 * What drizzle computed for a query, to prepare it again on another session. `fields`, `customResultMapper` and
 * `joinsNotNullableMap` are what the builders' `_prepare` hands the session and the driver's prepared query keeps
 * as its own properties (drizzle 0.45, both drivers): read from there, in this one place, and checked by
 * test/integration/statements.test.ts against drizzle's own results, so an upgrade that moves them fails there.
 */
interface Built {
  query: { sql: string; params: unknown[] };
  fields: unknown;
  arrayMode: boolean;
  customResultMapper: unknown;
  joinsNotNullableMap: unknown;
}

function builtFrom(prepared: AnyPrepared): Built {
  const internals = prepared as unknown as {
    fields?: unknown;
    customResultMapper?: unknown;
    joinsNotNullableMap?: unknown;
    isResponseInArrayMode(): boolean;
  };
  if (!("fields" in internals) || !("customResultMapper" in internals)) {
    throw new Error(
      "drizzle's prepared query no longer keeps fields/customResultMapper: see src/infra/db/statements.ts",
    );
  }
  return {
    query: prepared.getQuery(),
    fields: internals.fields,
    arrayMode: internals.isResponseInArrayMode(),
    customResultMapper: internals.customResultMapper,
    joinsNotNullableMap: internals.joinsNotNullableMap,
  };
}

function prepareOn(session: AnySession, name: string, built: Built): AnyPrepared {
  const prepared = session.prepareQuery(
    built.query,
    built.fields as never,
    name,
    built.arrayMode,
    built.customResultMapper as never,
  );
  if (built.joinsNotNullableMap !== undefined) {
    (prepared as unknown as { joinsNotNullableMap: unknown }).joinsNotNullableMap = built.joinsNotNullableMap;
  }
  return prepared;
}

type AnySession = Database["_"]["session"];
const sessionOf = (db: Database): AnySession => db._.session;

const slots = <Params>(): Slots<Params> =>
  new Proxy({} as Slots<Params>, {
    get: (_target, key) => (typeof key === "string" ? sql.placeholder(key) : undefined),
  });

/** The dialect the clients are made with (client.ts), for statements written as `sql` templates. */
const dialect = new PgDialect({ casing: CASING });

/**
 * Rows deferred in a transaction (Transactions.defer: the outbox's events) that a statement may carry: `ctes`
 * are data-modifying CTEs writing them from the parameters `bind` gives (placeholders of their own names), each
 * only if `written` (the statement's own write, as a CTE in front of them) has a row. A statement so built has a
 * second text, with the CTEs, used when there are rows to carry: one statement fewer.
 *
 * The rows go with their level, not with the carrier's write: they were deferred for changes the level made
 * before. So a carrier whose own write matched nothing (a conditional stock movement refused, a key's answer that
 * met another's) writes none of them, in its own SQL, and hands them back to its level (Transactions.giveBack),
 * which writes them with its next carrier or before COMMIT if it commits, or rolls them back with it. A refusal
 * caught at the carrier's level then neither writes rows at the refused write nor loses the level's.
 */
export interface Carrier {
  ctes(written: SQL): SQL;
  bind(rows: Deferred[]): Record<string, unknown>;
}

/** The name the carrier's own write takes in its carrying text (see Carrier). */
const CARRIER_WRITE = "carrier_write";

/** How a statement runs besides its text. */
export interface StatementOptions {
  /** Deferred rows this statement writes along with its own, when there are some at its level. */
  carrier?: Carrier;
  /**
   * It writes nothing and locks no row (an Idempotency-Key's advisory lock and read): run on
   * `currentWithoutWrites`, so it does not count as its level's own statement for hasWritten.
   */
  writesNothing?: boolean;
  /**
   * All or nothing, and it writes only when it returns rows (an order placed with its reservation: a refusal
   * matches no row and writes nothing): run on `currentWithoutWrites`, and counted as its level's own statement
   * only when it returned rows. So a refusal leaves hasWritten as it was, without asking PostgreSQL, which would
   * say "written" once the refused write waited for a row's lock (that gives the transaction its id).
   */
  writesOnlyWithRows?: boolean;
}

/**
 * `built` as a CTE (`carrier_write`) followed by the carrier's CTEs, gated on its rows, their parameters after its
 * own; it returns `built`'s own rows (its columns as listed: a carrier returns the rows it wrote). A statement with
 * a WITH of its own cannot be put in a CTE (a data-modifying WITH must be at the top level): not a carrier.
 */
function carrying(name: string, built: Built, carrier: Carrier): Built {
  const own = built.query.sql.trim();
  if (/^with\s/i.test(own)) throw new Error(`${name}: a carrier is one statement, not a WITH (see Carrier)`);
  const extra = dialect.sqlToQuery(carrier.ctes(sql.raw(CARRIER_WRITE)));
  const offset = built.query.params.length;
  const ctes = extra.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
  const text = `with ${CARRIER_WRITE} as (${own}), ${ctes} select * from ${CARRIER_WRITE}`;
  return { ...built, query: { sql: text, params: [...built.query.params, ...extra.params] } };
}

/** A value a decoder turns into what drizzle's results hold (a column, or a `sql` field's decoder). */
interface Decoder {
  mapFromDriverValue(value: unknown): unknown;
}

/** A builder's selected field as drizzle orders them (`orderSelectedFields`): its path in the result and itself. */
interface SelectedField {
  path: string[];
  field: unknown;
}

/** The decoder drizzle's `mapResultRow` uses for a field. */
function decoderOf(field: unknown): Decoder {
  type Decoded = { decoder: Decoder };
  if (is(field, Column)) return field;
  if (is(field, SQL)) return (field as unknown as Decoded).decoder;
  if (is(field, Subquery)) return (field as unknown as { _: { sql: Decoded } })._.sql.decoder;
  return (field as unknown as { sql: Decoded }).sql.decoder;
}

/**
 * drizzle's `mapResultRow(fields, row, joinsNotNullableMap)` with each field's decoder, path and table worked out
 * once per statement instead of per row: the same objects, values and nulled joins.
 */
function rowMapper(fields: SelectedField[], joinsNotNullableMap: Record<string, boolean> | undefined) {
  const columns = fields.map(({ path, field }) => ({
    path,
    leaf: path[path.length - 1] as string,
    decoder: decoderOf(field),
    // A left-joined table's column: its object is null when all its columns are (drizzle's nullifyMap).
    table: joinsNotNullableMap && is(field, Column) && path.length === 2 ? getTableName(field.table) : undefined,
  }));
  return (row: unknown[]): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    const nullify: Record<string, string | false> = {};
    for (let i = 0; i < columns.length; i++) {
      const { path, leaf, decoder, table } = columns[i] as (typeof columns)[number];
      let node = result;
      for (let chunk = 0; chunk < path.length - 1; chunk++) {
        const name = path[chunk] as string;
        if (!(name in node)) node[name] = {};
        node = node[name] as Record<string, unknown>;
      }
      const raw = row[i];
      const value = raw === null ? null : decoder.mapFromDriverValue(raw);
      node[leaf] = value;
      if (table !== undefined) {
        const objectName = path[0] as string;
        if (!(objectName in nullify)) nullify[objectName] = value === null ? table : false;
        else if (typeof nullify[objectName] === "string" && nullify[objectName] !== table) nullify[objectName] = false;
      }
    }
    if (joinsNotNullableMap) {
      for (const [objectName, table] of Object.entries(nullify)) {
        if (typeof table === "string" && !joinsNotNullableMap[table]) result[objectName] = null;
      }
    }
    return result;
  };
}

/**
 * A built statement as postgres.js runs it (issue 18): its text, its parameters bound from the placeholders'
 * values (drizzle's `fillPlaceholders`, with each slot worked out once) and its rows mapped as drizzle's
 * `PostgresJsPreparedQuery.execute` maps them, without that query object per transaction, its spans and cache
 * checks, and with the fields' decoders found once.
 */
interface Direct {
  text: string;
  bind(values: Record<string, unknown>): unknown[];
  /** Rows as arrays (`.values()`), mapped by this; undefined: rows as postgres.js returns them. */
  map: ((rows: unknown[][]) => unknown) | undefined;
}

/**
 * The text as one flat string. drizzle builds it by concatenation: in Bun (JavaScriptCore) a rope of many small
 * pieces, never flattened in place. postgres.js prefixes it with the parameter types on every run to look up the
 * connection's prepared statement, and a rope inside that key is walked piece by piece each time: ~3 µs of the
 * ~8 µs postgres.js spent building each statement of a checkout (measured with the bench instrumented).
 */
const flat = (text: string): string => Buffer.from(text, "utf8").toString("utf8");

function direct(built: Built): Direct {
  const slots = built.query.params.map((param) => {
    if (is(param, Placeholder)) return { name: param.name as string, encoder: undefined, value: undefined };
    if (is(param, Param) && is(param.value, Placeholder)) {
      return { name: param.value.name as string, encoder: param.encoder, value: undefined };
    }
    return { name: undefined, encoder: undefined, value: param };
  });
  const bind = (values: Record<string, unknown>) => {
    const bound = new Array<unknown>(slots.length);
    for (let i = 0; i < slots.length; i++) {
      const { name, encoder, value } = slots[i] as (typeof slots)[number];
      if (name === undefined) {
        bound[i] = value;
        continue;
      }
      if (!(name in values)) throw new Error(`No value for placeholder "${name}" was provided`);
      bound[i] = encoder ? encoder.mapToDriverValue(values[name]) : values[name];
    }
    return bound;
  };
  const custom = built.customResultMapper as ((rows: unknown[][]) => unknown) | undefined;
  const fields = built.fields as SelectedField[] | undefined;
  const toRow = fields && rowMapper(fields, built.joinsNotNullableMap as Record<string, boolean> | undefined);
  const map = custom ?? (toRow && ((rows: unknown[][]) => rows.map(toRow)));
  return { text: flat(built.query.sql), bind, map };
}

abstract class BuiltOnce<Params> {
  #built: Built | undefined;
  #builtCarrying: Built | undefined;
  #direct: Direct | undefined;
  #directCarrying: Direct | undefined;
  /** PGlite: one prepared query per session (the pool's for good, a transaction's or savepoint's while it is open). */
  readonly #bySession = new WeakMap<AnySession, AnyPrepared>();
  readonly #carryingBySession = new WeakMap<AnySession, AnyPrepared>();

  constructor(
    /** The statement's name (postgres.js: prepared by name; both: in errors and traces). */
    readonly name: string,
    private readonly transactions: Transactions,
    private readonly options: StatementOptions = {},
  ) {}

  protected abstract build(db: Database): Built;

  #builtOnce(): Built {
    this.#built ??= this.build(this.transactions.currentWithoutWrites);
    return this.#built;
  }

  protected execute(params: Params): Promise<unknown> {
    // A keyed transaction's look not taken in by a statement that carries it is made before anything else.
    const looking = this.transactions.lookFirst();
    if (looking) return looking.then(() => this.execute(params));
    const { carrier, writesOnlyWithRows } = this.options;
    const rows = carrier && this.transactions.take();
    const values = params as Record<string, unknown>;
    if (rows && carrier) return this.#carry(this.#runCarrying(carrier, { ...values, ...carrier.bind(rows) }), rows);
    const running = this.#runPlain(values);
    return writesOnlyWithRows ? this.#countedIfRows(running) : running;
  }

  /** The connection (postgres.js) or session (PGlite) a run goes to: counted as its level's own statement or not. */
  #target():
    | { connection: Sql | TransactionSql; session?: undefined }
    | { connection?: undefined; session: AnySession } {
    const { writesNothing, writesOnlyWithRows } = this.options;
    const own = !(writesNothing || writesOnlyWithRows);
    const connection = this.transactions.connection(own);
    if (connection) return { connection };
    return { session: sessionOf(own ? this.transactions.current : this.transactions.currentWithoutWrites) };
  }

  /** The statement's own text. */
  #runPlain(values: Record<string, unknown>): Promise<unknown> {
    const { connection, session } = this.#target();
    if (connection) {
      this.#direct ??= direct(this.#builtOnce());
      return this.#run(connection, this.#direct, values);
    }
    let prepared = this.#bySession.get(session);
    if (!prepared) {
      prepared = prepareOn(session, this.name, this.#builtOnce());
      this.#bySession.set(session, prepared);
    }
    return prepared.execute(values);
  }

  /** The text that writes its level's deferred rows in front of the statement's own write (`<name>_carrying`). */
  #runCarrying(carrier: Carrier, values: Record<string, unknown>): Promise<unknown> {
    this.#builtCarrying ??= carrying(this.name, this.#builtOnce(), carrier);
    const { connection, session } = this.#target();
    if (connection) {
      this.#directCarrying ??= direct(this.#builtCarrying);
      return this.#run(connection, this.#directCarrying, values);
    }
    let prepared = this.#carryingBySession.get(session);
    if (!prepared) {
      prepared = prepareOn(session, `${this.name}_carrying`, this.#builtCarrying);
      this.#carryingBySession.set(session, prepared);
    }
    return prepared.execute(values);
  }

  /** A statement that writes only when it returns rows: its level's own statement once it has (see options). */
  async #countedIfRows(running: Promise<unknown>): Promise<unknown> {
    const result = await running;
    if (rowsOf(result).length > 0) this.transactions.countOwnWrite();
    return result;
  }

  /**
   * A carrying text running; its own write matched nothing: it wrote none of `rows`, which go back to their level.
   * One that matched wrote them: its level's own write, whatever its options (one run on `currentWithoutWrites`,
   * writesOnlyWithRows, is counted only here: `rows` are no longer deferred for hasWritten to see).
   */
  async #carry(running: Promise<unknown>, rows: Deferred[]): Promise<unknown> {
    const result = await running;
    if (rowsOf(result).length === 0) this.transactions.giveBack(rows);
    else this.transactions.countOwnWrite();
    return result;
  }

  /** postgres.js: a named prepared statement on the connection (Parse once per connection, then Bind/Execute). */
  async #run(connection: Sql | TransactionSql, statement: Direct, values: Record<string, unknown>): Promise<unknown> {
    const params = statement.bind(values);
    (this.transactions.postgres as { logger: { logQuery(query: string, params: unknown[]): void } }).logger.logQuery(
      statement.text,
      params,
    );
    let rows: unknown;
    try {
      const query = connection.unsafe(statement.text, params as never[], { prepare: true });
      rows = await (statement.map ? query.values() : query);
    } catch (error) {
      // As drizzle's queryWithCache reports it (the driver's error as its cause).
      throw new DrizzleQueryError(statement.text, params, error as Error);
    }
    return statement.map ? statement.map(rows as unknown[][]) : rows;
  }

  /**
   * postgres.js: run on `connection` itself, outside every level (a connection of its own, not the pool's: a group
   * of orders' statement, order-repository.ts), with no key's look, no deferred rows and no hasWritten counting.
   */
  protected executeOn(connection: Sql, values: Record<string, unknown>): Promise<unknown> {
    this.#direct ??= direct(this.#builtOnce());
    return this.#run(connection, this.#direct, values);
  }

  /** The SQL text sent (tests, docs). */
  text(): string {
    return this.#builtOnce().query.sql;
  }
}

/** A statement written with drizzle's builder: its rows mapped exactly as the builder's `.execute()` maps them. */
export class Statement<Params, Result> extends BuiltOnce<Params> {
  constructor(
    name: string,
    transactions: Transactions,
    private readonly write: (db: Database, $: Slots<Params>) => Preparable<Result>,
    options?: StatementOptions,
  ) {
    super(name, transactions, options);
  }

  protected build(db: Database): Built {
    return builtFrom(this.write(db, slots<Params>()).prepare(this.name) as unknown as AnyPrepared);
  }

  run(params: Params): Promise<Result> {
    return this.execute(params) as Promise<Result>;
  }
}

/**
 * A statement written as a `sql` template (a data-modifying CTE the builder cannot express): its rows as the
 * driver returns them (snake_case names; map them with `fromRow`, which maps each column as drizzle does).
 */
export class SqlStatement<Params, Row = Record<string, unknown>> extends BuiltOnce<Params> {
  constructor(
    name: string,
    transactions: Transactions,
    private readonly write: ($: Slots<Params>) => SQL,
    options?: StatementOptions,
  ) {
    super(name, transactions, options);
  }

  protected build(): Built {
    const { sql: text, params } = dialect.sqlToQuery(this.write(slots<Params>()));
    return {
      query: { sql: text, params },
      fields: undefined,
      arrayMode: false,
      customResultMapper: undefined,
      joinsNotNullableMap: undefined,
    };
  }

  async run(params: Params): Promise<Row[]> {
    return rowsOf<Row>(await this.execute(params));
  }

  /** Run on a connection of its own, autocommit (see executeOn). */
  async runOn(connection: Sql, params: Params): Promise<Row[]> {
    return rowsOf<Row>(await this.executeOn(connection, params as Record<string, unknown>));
  }
}

import { afterAll } from "bun:test";
import postgres from "postgres";
import { createApp } from "../../src/app";
import { buildContainer, type Container } from "../../src/container";
import type { Clock } from "../../src/domain/shared/clock";
import type { Role } from "../../src/domain/users/user";
import { loadConfig } from "../../src/infra/config";
import { type DatabaseHandle, openDatabase } from "../../src/infra/db/client";
import { createLogger } from "../../src/infra/logger";

const { services, embedded, migrationsDir } = globalThis.kicksTest;

/** Redis-specific tests run only when this run has a Redis (skipped, and counted, otherwise). */
export const hasRedis = Boolean(services.redisUrl);
/** Tests of PostgreSQL-only behaviour (worker threads, several relays) run only when this run has one. */
export const hasPostgres = Boolean(services.databaseUrl);
export const TEST_JWT_SECRET = "test-secret-that-is-at-least-32-characters-long";

export function testEnv(overrides: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    REDIS_KEY_PREFIX: services.redisKeyPrefix,
    JWT_SECRET: TEST_JWT_SECRET,
    MIGRATIONS_DIR: migrationsDir,
    DATABASE_POOL_SIZE: "10",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    // /readyz reports "eventLoop down" after a 1 s stall (the production default). On a loaded 2-core CI machine a
    // test's own process can stall that long (GC, embedded PGlite on the main thread), which made /readyz answer 503
    // in tests about something else (the authorisation matrix). Tests of that bound set it themselves
    // (request-bounds.test.ts).
    EVENT_LOOP_LAG_LIMIT_MS: "60000",
    ...overrides,
  };
}

export interface Response<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  headers?: Record<string, string>;
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** A container and app of its own per test file, over this run's shared database and Redis. */
export async function createTestApp(
  options: {
    env?: Record<string, string>;
    clock?: Clock;
    database?: DatabaseHandle;
    /** Collects the app's log lines (parsed JSON) instead of writing them to stdout. */
    logs?: Record<string, any>[];
  } = {},
) {
  const config = loadConfig(testEnv(options.env));
  const logs = options.logs;
  const destination = logs ? { write: (line: string) => void logs.push(JSON.parse(line)) } : undefined;
  const container: Container = buildContainer(config, createLogger(config.LOG_LEVEL, {}, destination), {
    database: options.database ?? embedded,
    clock: options.clock,
  });
  const app = createApp(container);

  async function request<T = any>(method: string, path: string, body?: unknown, opts: RequestOptions = {}) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === "string" ? body : JSON.stringify(body);
      headers["Content-Type"] ??= "application/json";
    }
    const res = await app.request(path, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, body: parsed as T, headers: res.headers } satisfies Response<T>;
  }

  let sequence = 0;
  /** A user of `role` made through the API (admins through the service: they cannot sign up) and logged in. */
  async function registerUser(role: Role = "BUYER", fields: Record<string, unknown> = {}) {
    const email = `${role.toLowerCase()}-${++sequence}-${crypto.randomUUID()}@test.kicks`;
    const password = "test-password-1";
    const account = {
      email,
      password,
      name: `${role} ${sequence}`,
      ...(role === "SELLER" ? { businessRegistrationNumber: "124-81-00998" } : {}),
      ...fields,
    };
    if (role === "ADMIN") {
      await container.services.users.createAccount({ ...account, role });
    } else {
      const res = await request("POST", "/api/v1/auth/signup", { ...account, role });
      if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const login = await request("POST", "/api/v1/auth/login", { email, password });
    if (login.status !== 200) throw new Error(`login failed: ${login.status}`);
    return { user: login.body.user, token: login.body.accessToken as string, email, password };
  }

  return {
    app,
    container,
    request,
    get: <T = any>(path: string, opts?: RequestOptions) => request<T>("GET", path, undefined, opts),
    post: <T = any>(path: string, body?: unknown, opts?: RequestOptions) => request<T>("POST", path, body, opts),
    patch: <T = any>(path: string, body?: unknown, opts?: RequestOptions) => request<T>("PATCH", path, body, opts),
    put: <T = any>(path: string, body?: unknown, opts?: RequestOptions) => request<T>("PUT", path, body, opts),
    registerUser,
    close: () => container.close(),
  };
}

let scratchDatabases = 0;
/**
 * An empty database of its own on this run's PostgreSQL server (dropped after the file), for tests of what
 * happens to a database from its very first migration on. Only with a PostgreSQL server (`services.databaseUrl`).
 */
/**
 * A test app behind a real socket on 127.0.0.1 (every request its own connection, as under load), stopped and
 * closed after the file.
 */
export async function servedTestApp(): Promise<{ t: TestApp; base: string }> {
  const t = await createTestApp();
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: t.app.fetch });
  afterAll(async () => {
    await server.stop(true);
    await t.close();
  });
  return { t, base: `http://127.0.0.1:${server.port}` };
}

export async function freshPostgresDatabase(): Promise<string> {
  if (!services.databaseUrl) throw new Error("freshPostgresDatabase needs this run's PostgreSQL server");
  const runUrl = new URL(services.databaseUrl);
  const name = `${runUrl.pathname.slice(1)}_${++scratchDatabases}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(services.databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  afterAll(async () => {
    const cleanup = postgres(services.databaseUrl as string, { max: 1, onnotice: () => {} });
    await cleanup.unsafe(`drop database if exists ${name} with (force)`);
    await cleanup.end();
  });
  runUrl.pathname = `/${name}`;
  return runUrl.toString();
}

/**
 * This run's database for repository tests: the shared embedded one, or a pool of its own (closed after
 * the file) on the run's PostgreSQL database.
 */
export function openTestDatabase(): DatabaseHandle {
  const database = embedded ?? openDatabase({ url: services.databaseUrl, poolSize: 5, migrationsDir });
  afterAll(async () => {
    if (!embedded) await database.close();
  });
  return database;
}

/**
 * A migrated database of this file's own (a scratch PostgreSQL database, or an in-memory PGlite in the
 * embedded run), for tests that read shop-wide figures (popular products, sales statistics) which other
 * files' orders would otherwise change. Closed (and dropped) after the file.
 */
export async function isolatedDatabase(): Promise<DatabaseHandle> {
  const url = services.databaseUrl ? await freshPostgresDatabase() : undefined;
  const database = openDatabase({ url, poolSize: 10, migrationsDir });
  await database.migrate();
  afterAll(() => database.close());
  return database;
}

import { z } from "zod";
import { IN_FLIGHT_LEASE_MS } from "../domain/idempotency/idempotency-service";
import { parseTrustedProxies } from "./client-addresses";

/** Whole decimal numbers only: no " ", "0x50" or "1e3" slipping through a numeric coercion. */
const int = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, "must be a whole number").transform(Number).pipe(z.number().int().min(min).max(max));
const optionalUrl = z.url().optional();

/** Blank values count as unset, so `FOO=` in an env file behaves like no `FOO` at all. */
const emptyAsUnset = (env: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""));

/** The least margin beyond PAYMENT_GATEWAY_TIMEOUT_MS before a gateway 404 may be taken as final. */
export const PAYMENT_SEND_MARGIN_MIN_MS = 1000;
/** What a request's time limit leaves of its Idempotency-Key's lease: the answer's own commit, a paused process. */
const REQUEST_LEASE_MARGIN_MS = 10_000;

const envSchema = z
  .object({
    PORT: int(0, 65535).default(3000),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://")
      .optional(),
    DATABASE_POOL_SIZE: int(1, 200).default(10),
    DATA_DIR: z.string().default("./data"),
    // Unset: the migrations built into the program (drizzle/ as it was when transpiled or compiled).
    MIGRATIONS_DIR: z.string().optional(),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
      .optional(),
    // The cache-aside entries (product pages and lists, popular products) on a Redis of their own that may
    // evict (allkeys-lru), while REDIS_URL keeps the coupon claims, locks and counters that must never be
    // evicted (noeviction). A logical database (redis://host:6379/1) separates keys, not the eviction policy,
    // which is per server. Unset: REDIS_URL holds both.
    REDIS_CACHE_URL: z
      .string()
      .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
      .optional(),
    REDIS_KEY_PREFIX: z
      .string()
      .max(100)
      // Redis Cluster hashes the first {…} of a key: one in the prefix would put every key in one slot and
      // override the coupon scripts' own hash tags.
      .regex(/^[^{}]*$/, "must not contain { or }")
      .default("kicks:"),
    JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    JWT_EXPIRES_IN_SECONDS: int(60, 30 * 24 * 3600).default(3600),
    ADMIN_EMAIL: z.email().optional(),
    ADMIN_PASSWORD: z.string().min(8).max(72).optional(),
    DATA_PLATFORM_URL: optionalUrl,
    PAYMENT_GATEWAY_URL: optionalUrl,
    PAYMENT_GATEWAY_TIMEOUT_MS: int(1, 120_000).default(3000),
    // The charge's send window: a gateway 404 ("never received") is taken as final only this long after the
    // charge POST started; before that our own POST may still be on its way (contract: Payments → confirm).
    PAYMENT_ABANDON_AFTER_MS: int(1, 600_000).default(10_000),
    // How soon the recovery job asks the gateway again about a payment whose outcome is unknown; also the
    // lease on a claimed check, so one lookup must end inside it.
    PAYMENT_RECHECK_SECONDS: int(1, 25).default(10),
    PAYMENT_GATEWAY_DECLINE_AMOUNTS: z
      .string()
      .regex(/^\d+(,\d+)*$/, "must be a comma-separated list of integer amounts")
      .transform((list) => list.split(",").map(Number))
      .optional(),
    ORDER_PAYMENT_TIMEOUT_SECONDS: int(1, 7 * 24 * 3600).default(900),
    ORDER_AUTO_COMPLETE_DAYS: int(1, 365).default(7),
    PRODUCT_CACHE_TTL_SECONDS: int(1, 24 * 3600).default(60),
    // What list pages of free-form queries (search, brand, price range, deep pages) may store per TTL, across
    // instances; canonical pages are always stored. Beyond it such pages are served from the database.
    PRODUCT_LIST_CACHE_BUDGET_BYTES: int(0, 1024 * 1024 * 1024).default(8 * 1024 * 1024),
    POPULAR_CACHE_TTL_SECONDS: int(1, 24 * 3600).default(300),
    // Public reads (product, list, popular, model) say `Cache-Control: public, max-age=<this>`: a browser or CDN may
    // show a page this many seconds old (stock included) without asking. 0: they revalidate (ETag → 304) every time.
    PUBLIC_CACHE_MAX_AGE_SECONDS: int(0, 3600).default(0),
    COUPON_RECONCILE_INTERVAL_SECONDS: int(1, 24 * 3600).default(30),
    OUTBOX_MAX_ATTEMPTS: int(1, 100).default(8),
    OUTBOX_BATCH_SIZE: int(1, 5000).default(500),
    OUTBOX_POLL_INTERVAL_MS: int(10, 60_000).default(1000),
    OUTBOX_LEASE_SECONDS: int(1, 3600).default(30),
    DATA_PLATFORM_TIMEOUT_MS: int(1, 120_000).default(3000),
    REFUND_MAX_ATTEMPTS: int(1, 100).default(5),
    REFUND_LEASE_SECONDS: int(1, 3600).default(60),
    RETRY_BASE_DELAY_MS: int(1, 300_000).default(1000),
    ALERT_WEBHOOK_URL: optionalUrl,
    // Proxies (addresses, CIDR ranges) whose X-Forwarded-For entry names the client; unset: no header is believed.
    TRUSTED_PROXIES: z
      .string()
      .max(4000)
      .optional()
      .superRefine((value, ctx) => {
        try {
          parseTrustedProxies(value);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: (error as Error).message });
        }
      }),
    // Failed logins one client address may have across all emails in 5 minutes (then 429 for the rest of them).
    LOGIN_FAILURES_PER_ADDRESS: int(1, 1_000_000).default(100),
    // Password hashes (argon2id) computed at once, and waiting beyond those; more → 503 UNAVAILABLE + Retry-After.
    PASSWORD_HASH_CONCURRENCY: int(1, 256).default(4),
    PASSWORD_HASH_QUEUE: int(0, 10_000).default(100),
    // How long an instance may use its copy of a user's token state (role, token version). Logout and password
    // changes reach every instance at once (Redis); a role changed or a user deleted by SQL counts within this.
    TOKEN_STATE_CACHE_MS: int(0, 60_000).default(1000),
    // Orders (no coupon) whose statements are ready while another of their first product is in flight go as one
    // statement of at most this many orders (docs/checkout-performance.md, "Grouped orders"); 1: every order alone.
    ORDER_GROUP_SIZE: int(1, 1000).default(64),
    // Every request answers within this (503 UNAVAILABLE with Retry-After past it; work already started finishes).
    REQUEST_TIMEOUT_MS: int(100, 600_000).default(30_000),
    // How long payment completions wait behind the group statement in flight before each goes alone (a statement
    // still running by then waits on a row lock: the completions of other products must not wait with it).
    COMPLETION_GROUP_PATIENCE_MS: int(1, 600_000).default(250),
    // /readyz reports the process unready while its event loop has lagged more than this in the last 3 s.
    EVENT_LOOP_LAG_LIMIT_MS: int(10, 60_000).default(1000),
    // Set: GET /metrics needs Authorization: Bearer <METRICS_TOKEN> (it shows business counters).
    METRICS_TOKEN: z
      .string()
      .min(16, "must be at least 16 characters")
      .max(512)
      .regex(/^\S+$/, "must not contain spaces")
      .optional(),
    LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    // Access lines of the probes (/healthz, /readyz) that answer 2xx/3xx. Off by default: a load balancer's
    // probes many times a second would be most of the log and tell nothing; a failing probe is always logged.
    ACCESS_LOG_PROBES: z
      .enum(["true", "false"], { message: "must be true or false" })
      .default("false")
      .transform((value) => value === "true"),
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.ADMIN_EMAIL) !== Boolean(env.ADMIN_PASSWORD)) {
      ctx.addIssue({
        code: "custom",
        path: [env.ADMIN_EMAIL ? "ADMIN_PASSWORD" : "ADMIN_EMAIL"],
        message: "ADMIN_EMAIL and ADMIN_PASSWORD must be set together",
      });
    }
    // A delivery must end well inside its lease, or another relay could take the event over mid-flight.
    if (env.OUTBOX_LEASE_SECONDS * 1000 < 2 * env.DATA_PLATFORM_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["OUTBOX_LEASE_SECONDS"],
        message: `must be at least twice DATA_PLATFORM_TIMEOUT_MS (${env.DATA_PLATFORM_TIMEOUT_MS} ms)`,
      });
    }
    // A request that waits for the gateway must be given the chance to hear its answer.
    if (env.REQUEST_TIMEOUT_MS <= env.PAYMENT_GATEWAY_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["REQUEST_TIMEOUT_MS"],
        message: `must be more than PAYMENT_GATEWAY_TIMEOUT_MS (${env.PAYMENT_GATEWAY_TIMEOUT_MS} ms)`,
      });
    }
    // A keyed request must end inside its key's in-flight lease, or a retry could take the key over while it runs.
    if (env.REQUEST_TIMEOUT_MS > IN_FLIGHT_LEASE_MS - REQUEST_LEASE_MARGIN_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["REQUEST_TIMEOUT_MS"],
        message: `must be at most ${IN_FLIGHT_LEASE_MS - REQUEST_LEASE_MARGIN_MS} ms (an Idempotency-Key's in-flight lease, ${IN_FLIGHT_LEASE_MS} ms, less ${REQUEST_LEASE_MARGIN_MS} ms)`,
      });
    }
    if (env.REDIS_CACHE_URL && !env.REDIS_URL) {
      ctx.addIssue({ code: "custom", path: ["REDIS_CACHE_URL"], message: "needs REDIS_URL (the shared state)" });
    }
    // A 404 may be final only once no POST of ours can still arrive: the POST is cut off at the timeout, and
    // the margin beyond it covers bytes already in flight, clock skew between hosts and process pauses.
    if (env.PAYMENT_ABANDON_AFTER_MS < env.PAYMENT_GATEWAY_TIMEOUT_MS + PAYMENT_SEND_MARGIN_MIN_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["PAYMENT_ABANDON_AFTER_MS"],
        message: `must be at least PAYMENT_GATEWAY_TIMEOUT_MS (${env.PAYMENT_GATEWAY_TIMEOUT_MS} ms) + ${PAYMENT_SEND_MARGIN_MIN_MS} ms, or a payment could be failed while its charge can still reach the gateway`,
      });
    }
    // The recovery job claims a check for PAYMENT_RECHECK_SECONDS: a lookup outliving it would be asked twice.
    if (env.PAYMENT_RECHECK_SECONDS * 1000 < 2 * env.PAYMENT_GATEWAY_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["PAYMENT_RECHECK_SECONDS"],
        message: `must be at least twice PAYMENT_GATEWAY_TIMEOUT_MS (${env.PAYMENT_GATEWAY_TIMEOUT_MS} ms), so a gateway lookup ends inside its claim (and at most 25, so a payment is asked again within 30 s)`,
      });
    }
    // A refund's try (one gateway call, then its books) must end well inside its lease, or another process
    // could take the refund over while the gateway may still be refunding it.
    if (env.REFUND_LEASE_SECONDS * 1000 < 2 * env.PAYMENT_GATEWAY_TIMEOUT_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["REFUND_LEASE_SECONDS"],
        message: `must be at least twice PAYMENT_GATEWAY_TIMEOUT_MS (${env.PAYMENT_GATEWAY_TIMEOUT_MS} ms)`,
      });
    }
    // Several processes behind one database must sign and verify tokens with the same key.
    if (env.DATABASE_URL && !env.JWT_SECRET) {
      ctx.addIssue({
        code: "custom",
        path: ["JWT_SECRET"],
        message: "is required when DATABASE_URL is set (every instance must share it)",
      });
    }
  });

export type Config = z.infer<typeof envSchema>;

/** Every environment variable Kicks reads, for checks on deployment files that set them. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as (keyof Config)[];

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment; a bad value throws one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(emptyAsUnset(env));
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = issue.path.join(".") || "environment";
    const value = env[name];
    // JSON.stringify keeps the message on one line even for values with line breaks.
    const shown = value === undefined || /SECRET|PASSWORD|URL/.test(name) ? "" : ` (got ${JSON.stringify(value)})`;
    return `${name}: ${issue.message}${shown}`;
  });
  throw new ConfigError(`Invalid configuration: ${lines.join("; ")}`);
}

/** Whether this process shares state with others (Redis) or keeps it in memory. */
export const isSingleInstance = (config: Config) => !config.REDIS_URL;

import { z } from "zod";

/** Whole decimal numbers only: no " ", "0x50" or "1e3" slipping through a numeric coercion. */
const int = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, "must be a whole number").transform(Number).pipe(z.number().int().min(min).max(max));
const optionalUrl = z.url().optional();

/** Blank values count as unset, so `FOO=` in an env file behaves like no `FOO` at all. */
const emptyAsUnset = (env: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""));

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
    PAYMENT_GATEWAY_DECLINE_AMOUNTS: z
      .string()
      .regex(/^\d+(,\d+)*$/, "must be a comma-separated list of integer amounts")
      .transform((list) => list.split(",").map(Number))
      .optional(),
    ORDER_PAYMENT_TIMEOUT_SECONDS: int(1, 7 * 24 * 3600).default(900),
    ORDER_AUTO_COMPLETE_DAYS: int(1, 365).default(7),
    PRODUCT_CACHE_TTL_SECONDS: int(1, 24 * 3600).default(60),
    POPULAR_CACHE_TTL_SECONDS: int(1, 24 * 3600).default(300),
    OUTBOX_MAX_ATTEMPTS: int(1, 100).default(8),
    OUTBOX_BATCH_SIZE: int(1, 5000).default(500),
    OUTBOX_POLL_INTERVAL_MS: int(10, 60_000).default(1000),
    OUTBOX_LEASE_SECONDS: int(1, 3600).default(30),
    DATA_PLATFORM_TIMEOUT_MS: int(1, 120_000).default(3000),
    REFUND_MAX_ATTEMPTS: int(1, 100).default(5),
    RETRY_BASE_DELAY_MS: int(1, 300_000).default(1000),
    ALERT_WEBHOOK_URL: optionalUrl,
    LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
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

import { describe, expect, it } from "bun:test";
import { ConfigError, loadConfig } from "../../src/infra/config";

const SECRET = "a-jwt-secret-that-is-at-least-32-characters";

/** The ConfigError `loadConfig(env)` throws; fails the test when it does not throw one. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe("loadConfig defaults", () => {
  it("applies the documented defaults to an empty environment", () => {
    expect(loadConfig({})).toMatchObject({
      PORT: 3000,
      PRODUCT_CACHE_TTL_SECONDS: 60,
      POPULAR_CACHE_TTL_SECONDS: 300,
      COUPON_RECONCILE_INTERVAL_SECONDS: 30,
      REFUND_MAX_ATTEMPTS: 5,
      RETRY_BASE_DELAY_MS: 1000,
      ORDER_PAYMENT_TIMEOUT_SECONDS: 900,
      OUTBOX_MAX_ATTEMPTS: 8,
      OUTBOX_BATCH_SIZE: 500,
      OUTBOX_POLL_INTERVAL_MS: 1000,
      OUTBOX_LEASE_SECONDS: 30,
      DATA_PLATFORM_TIMEOUT_MS: 3000,
      PAYMENT_GATEWAY_TIMEOUT_MS: 3000,
      DATA_DIR: "./data",
      REDIS_KEY_PREFIX: "kicks:",
    });
  });

  it("leaves the optional services unset, so the embedded database and in-process adapters are used", () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.JWT_SECRET).toBeUndefined();
    expect(config.PAYMENT_GATEWAY_DECLINE_AMOUNTS).toBeUndefined();
  });

  it("reads numbers from their strings", () => {
    const config = loadConfig({ PORT: "8080", OUTBOX_MAX_ATTEMPTS: "3", RETRY_BASE_DELAY_MS: "250" });
    expect(config).toMatchObject({ PORT: 8080, OUTBOX_MAX_ATTEMPTS: 3, RETRY_BASE_DELAY_MS: 250 });
  });

  it("treats empty strings as unset", () => {
    const config = loadConfig({
      PORT: "",
      DATABASE_URL: "",
      REDIS_URL: "",
      LOG_LEVEL: "",
      REDIS_KEY_PREFIX: "",
      PAYMENT_GATEWAY_DECLINE_AMOUNTS: "",
      ADMIN_EMAIL: "",
      ADMIN_PASSWORD: "",
    });
    expect(config).toMatchObject({ PORT: 3000, LOG_LEVEL: "info", REDIS_KEY_PREFIX: "kicks:" });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.PAYMENT_GATEWAY_DECLINE_AMOUNTS).toBeUndefined();
  });

  it("parses the gateway's decline amounts into a list of numbers", () => {
    expect(loadConfig({ PAYMENT_GATEWAY_DECLINE_AMOUNTS: "13000" }).PAYMENT_GATEWAY_DECLINE_AMOUNTS).toEqual([13000]);
    expect(loadConfig({ PAYMENT_GATEWAY_DECLINE_AMOUNTS: "1,250000,999" }).PAYMENT_GATEWAY_DECLINE_AMOUNTS).toEqual([
      1, 250000, 999,
    ]);
  });

  it("accepts a PostgreSQL database together with a shared JWT secret", () => {
    const config = loadConfig({ DATABASE_URL: "postgresql://kicks@db:5432/kicks", JWT_SECRET: SECRET });
    expect(config.DATABASE_URL).toBe("postgresql://kicks@db:5432/kicks");
    expect(config.JWT_SECRET).toBe(SECRET);
  });
});

describe("loadConfig refusals", () => {
  it.each([
    ["PORT", "abc", {}],
    ["PORT", "70000", {}],
    ["PORT", "-1", {}],
    ["PORT", "80.5", {}],
    ["DATABASE_URL", "mysql://x", { JWT_SECRET: SECRET }],
    ["REDIS_URL", "http://cache:6379", {}],
    ["REDIS_KEY_PREFIX", "{kicks}:", {}],
    ["LOG_LEVEL", "loud", {}],
    ["ACCESS_LOG_PROBES", "yes", {}],
    ["PAYMENT_GATEWAY_DECLINE_AMOUNTS", "1,x", {}],
    ["PAYMENT_GATEWAY_DECLINE_AMOUNTS", "1,,2", {}],
    ["OUTBOX_MAX_ATTEMPTS", "0", {}],
    ["OUTBOX_BATCH_SIZE", "0", {}],
    ["OUTBOX_BATCH_SIZE", "5001", {}],
    ["OUTBOX_POLL_INTERVAL_MS", "5", {}],
    ["OUTBOX_LEASE_SECONDS", "0", {}],
    ["DATA_PLATFORM_TIMEOUT_MS", "0", {}],
    ["PRODUCT_CACHE_TTL_SECONDS", "ten", {}],
    ["PAYMENT_GATEWAY_URL", "not a url", {}],
    ["ADMIN_EMAIL", "not-an-email", { ADMIN_PASSWORD: "admin-password-1" }],
  ])("refuses %s=%s with a one-line ConfigError naming the variable", (name, value, extra) => {
    const error = configError({ ...extra, [name]: value });
    expect(error.name).toBe("ConfigError");
    expect(error.message).not.toContain("\n");
    expect(error.message).toContain(`${name}:`);
  });

  it("shows the offending value of a variable that is not a secret", () => {
    expect(configError({ LOG_LEVEL: "loud" }).message).toContain('"loud"');
  });

  it("names every bad variable of the environment in the same line", () => {
    const { message } = configError({ PORT: "abc", LOG_LEVEL: "loud" });
    expect(message).not.toContain("\n");
    expect(message).toContain("PORT:");
    expect(message).toContain("LOG_LEVEL:");
  });

  it("keeps the message on one line even when the bad value contains a line break", () => {
    expect(configError({ LOG_LEVEL: "info\nwarn" }).message).not.toContain("\n");
  });

  it("names a too-short JWT_SECRET without echoing it", () => {
    const secret = `short-${crypto.randomUUID().slice(0, 8)}`;
    const { message } = configError({ JWT_SECRET: secret });
    expect(message).toContain("JWT_SECRET");
    expect(message).not.toContain(secret);
  });

  it("names a too-short ADMIN_PASSWORD without echoing it", () => {
    const { message } = configError({ ADMIN_EMAIL: "admin@kicks.test", ADMIN_PASSWORD: "pw-123" });
    expect(message).toContain("ADMIN_PASSWORD");
    expect(message).not.toContain("pw-123");
  });

  it("does not echo connection strings, which carry credentials", () => {
    const { message } = configError({ DATABASE_URL: "mysql://root:hunter2@db/shop", JWT_SECRET: SECRET });
    expect(message).toContain("DATABASE_URL");
    expect(message).not.toContain("hunter2");
  });

  it("refuses ADMIN_EMAIL without ADMIN_PASSWORD", () => {
    const { message } = configError({ ADMIN_EMAIL: "admin@kicks.test" });
    expect(message).not.toContain("\n");
    expect(message).toContain("ADMIN_PASSWORD");
  });

  it("refuses ADMIN_PASSWORD without ADMIN_EMAIL", () => {
    const { message } = configError({ ADMIN_PASSWORD: "admin-password-1" });
    expect(message).toContain("ADMIN_EMAIL");
    expect(message).not.toContain("admin-password-1");
  });

  it("counts an empty ADMIN_PASSWORD as missing", () => {
    expect(configError({ ADMIN_EMAIL: "admin@kicks.test", ADMIN_PASSWORD: "" }).message).toContain("ADMIN_PASSWORD");
  });

  it("refuses DATABASE_URL without JWT_SECRET, since every instance must sign with the same key", () => {
    const { message } = configError({ DATABASE_URL: "postgres://kicks@db:5432/kicks" });
    expect(message).not.toContain("\n");
    expect(message).toContain("JWT_SECRET");
  });

  it("counts an empty JWT_SECRET as missing when DATABASE_URL is set", () => {
    expect(configError({ DATABASE_URL: "postgres://kicks@db:5432/kicks", JWT_SECRET: "" }).message).toContain(
      "JWT_SECRET",
    );
  });
});

describe("loadConfig outbox lease", () => {
  it("refuses a lease shorter than twice the data platform's timeout, which a slow try could outlast", () => {
    const { message } = configError({ OUTBOX_LEASE_SECONDS: "5", DATA_PLATFORM_TIMEOUT_MS: "3000" });
    expect(message).toContain("OUTBOX_LEASE_SECONDS: must be at least twice DATA_PLATFORM_TIMEOUT_MS (3000 ms)");
  });

  it("accepts a lease of exactly twice the timeout", () => {
    expect(loadConfig({ OUTBOX_LEASE_SECONDS: "2", DATA_PLATFORM_TIMEOUT_MS: "1000" })).toMatchObject({
      OUTBOX_LEASE_SECONDS: 2,
      DATA_PLATFORM_TIMEOUT_MS: 1000,
    });
  });
});

describe("loadConfig payment timings (the charge's send window)", () => {
  it("defaults to a window and a re-check that fit the default gateway timeout", () => {
    expect(loadConfig({})).toMatchObject({
      PAYMENT_GATEWAY_TIMEOUT_MS: 3000,
      PAYMENT_ABANDON_AFTER_MS: 10_000,
      PAYMENT_RECHECK_SECONDS: 10,
    });
  });

  it("refuses a request time limit that outlives an Idempotency-Key's in-flight lease", () => {
    // A keyed request still running past its key's lease (60 s), e.g. a payment waiting on locks, would let a
    // retry take the key over: the retry could store its own answer (202) while the first went on to 200.
    const { message } = configError({ REQUEST_TIMEOUT_MS: "90000" });
    expect(message).toContain("REQUEST_TIMEOUT_MS: must be at most 50000 ms");
    expect(loadConfig({ REQUEST_TIMEOUT_MS: "50000" })).toMatchObject({ REQUEST_TIMEOUT_MS: 50000 });
  });

  it("refuses a send window that leaves less than a second beyond the gateway timeout", () => {
    const { message } = configError({ PAYMENT_GATEWAY_TIMEOUT_MS: "5000", PAYMENT_ABANDON_AFTER_MS: "5500" });
    expect(message).toContain(
      "PAYMENT_ABANDON_AFTER_MS: must be at least PAYMENT_GATEWAY_TIMEOUT_MS (5000 ms) + 1000 ms",
    );
    // A longer timeout alone makes the default window too short: the operator is told, not surprised.
    expect(configError({ PAYMENT_GATEWAY_TIMEOUT_MS: "9500" }).message).toContain("PAYMENT_ABANDON_AFTER_MS");
    expect(loadConfig({ PAYMENT_GATEWAY_TIMEOUT_MS: "5000", PAYMENT_ABANDON_AFTER_MS: "6000" })).toMatchObject({
      PAYMENT_ABANDON_AFTER_MS: 6000,
    });
  });

  it("refuses a re-check shorter than twice the gateway timeout, or one that breaks the 30 s promise", () => {
    const short = configError({
      PAYMENT_GATEWAY_TIMEOUT_MS: "6000",
      PAYMENT_ABANDON_AFTER_MS: "20000",
      PAYMENT_RECHECK_SECONDS: "10",
    });
    expect(short.message).toContain(
      "PAYMENT_RECHECK_SECONDS: must be at least twice PAYMENT_GATEWAY_TIMEOUT_MS (6000 ms)",
    );
    expect(configError({ PAYMENT_RECHECK_SECONDS: "26" }).message).toContain("PAYMENT_RECHECK_SECONDS");
    // A gateway slower than 12.5 s cannot be asked again within 30 s: no combination is accepted.
    expect(
      configError({
        PAYMENT_GATEWAY_TIMEOUT_MS: "13000",
        PAYMENT_ABANDON_AFTER_MS: "60000",
        PAYMENT_RECHECK_SECONDS: "25",
      }).message,
    ).toContain("PAYMENT_RECHECK_SECONDS");
  });
});

describe("loadConfig refund lease", () => {
  it("refuses a refund lease shorter than twice the gateway's timeout, which a slow try could outlast", () => {
    const { message } = configError({ REFUND_LEASE_SECONDS: "5", PAYMENT_GATEWAY_TIMEOUT_MS: "3000" });
    expect(message).toContain("REFUND_LEASE_SECONDS: must be at least twice PAYMENT_GATEWAY_TIMEOUT_MS (3000 ms)");
  });

  it("defaults to 60 s and accepts exactly twice the timeout", () => {
    expect(loadConfig({}).REFUND_LEASE_SECONDS).toBe(60);
    expect(loadConfig({ REFUND_LEASE_SECONDS: "2", PAYMENT_GATEWAY_TIMEOUT_MS: "1000" })).toMatchObject({
      REFUND_LEASE_SECONDS: 2,
    });
  });
});

describe(".env.example", () => {
  it("loads as it is, and names every outbox setting with its default", async () => {
    const text = await Bun.file(`${import.meta.dir}/../../.env.example`).text();
    const env = Object.fromEntries(
      text
        .split("\n")
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    const config = loadConfig(env);
    for (const name of [
      "OUTBOX_MAX_ATTEMPTS",
      "OUTBOX_BATCH_SIZE",
      "OUTBOX_POLL_INTERVAL_MS",
      "OUTBOX_LEASE_SECONDS",
      "DATA_PLATFORM_TIMEOUT_MS",
      "RETRY_BASE_DELAY_MS",
      "PAYMENT_GATEWAY_TIMEOUT_MS",
      "PAYMENT_ABANDON_AFTER_MS",
      "PAYMENT_RECHECK_SECONDS",
    ] as const) {
      expect(String(config[name])).toBe(env[name] ?? "missing");
      expect(config[name]).toBe(loadConfig({})[name]);
    }
    expect(text).toContain("# DATA_PLATFORM_URL=");
    expect(text).toContain("# ALERT_WEBHOOK_URL=");
  });
});

describe("loadConfig numbers", () => {
  it.each(["0x50", "1e3", "80.0", "-1", "+80"])("refuses PORT=%s: only whole decimal numbers count", (port) => {
    expect(() => loadConfig({ PORT: port })).toThrow(/PORT: must be a whole number/);
  });

  it("treats a blank value as unset and uses the default", () => {
    expect(loadConfig({ PORT: "   " }).PORT).toBe(3000);
  });

  it("accepts surrounding spaces around a number", () => {
    expect(loadConfig({ PORT: " 8080 " }).PORT).toBe(8080);
  });
});

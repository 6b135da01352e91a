import { afterAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../support/harness";

// Issue 17 §5 and §13, through Bun's real server so that requests have a socket address (127.0.0.1 here); the
// test stands in for a trusted proxy at 127.0.0.1 and names clients in X-Forwarded-For.
const opened: { stop: () => void; close: () => Promise<void> }[] = [];
afterAll(async () => {
  for (const { stop, close } of opened) {
    stop();
    await close();
  }
});

async function serve(env: Record<string, string>) {
  const t = await createTestApp({ env });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: t.app.fetch });
  opened.push({ stop: () => server.stop(true), close: () => t.close() });
  const post = async (path: string, body: unknown, from?: string) => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(from ? { "X-Forwarded-For": from } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  return { t, post };
}

const FAILURES_PER_ADDRESS = 20;
const behindProxy = await serve({
  TRUSTED_PROXIES: "127.0.0.1",
  LOGIN_FAILURES_PER_ADDRESS: String(FAILURES_PER_ADDRESS),
});
const uniqueEmail = (tag: string) => `${tag}-${crypto.randomUUID()}@test.kicks`;

async function signedUp(app: { t: TestApp }) {
  const email = uniqueEmail("owner");
  const res = await app.t.post("/api/v1/auth/signup", { email, password: "violet-kangaroo-42", name: "Owner" });
  expect(res.status).toBe(201);
  return email;
}

describe("login throttling per (email, address) and per address", () => {
  it("guesses from one address never lock the owner out from another", async () => {
    const { post } = behindProxy;
    const email = await signedUp(behindProxy);
    for (let i = 0; i < 10; i++) {
      expect((await post("/api/v1/auth/login", { email, password: `guess-${i}` }, "203.0.113.7")).status).toBe(401);
    }
    const blocked = await post("/api/v1/auth/login", { email, password: "violet-kangaroo-42" }, "203.0.113.7");
    expect(blocked.status).toBe(429);
    expect(blocked.body.code).toBe("RATE_LIMITED");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    const owner = await post("/api/v1/auth/login", { email, password: "violet-kangaroo-42" }, "198.51.100.9");
    expect(owner.status).toBe(200);
  });

  it("counts an address's failures across emails, and its successful logins not at all", async () => {
    const { post } = behindProxy;
    const from = "203.0.113.99";
    const email = await signedUp(behindProxy);
    // Successes from the address before and between the failures take nothing of its allowance.
    for (let i = 0; i < 3; i++) {
      expect((await post("/api/v1/auth/login", { email, password: "violet-kangaroo-42" }, from)).status).toBe(200);
    }
    const failures = await Promise.all(
      Array.from({ length: FAILURES_PER_ADDRESS }, () =>
        post("/api/v1/auth/login", { email: uniqueEmail("nobody"), password: "violet-kangaroo-42" }, from),
      ),
    );
    expect(failures.map((res) => res.status)).toEqual(Array(FAILURES_PER_ADDRESS).fill(401));
    const next = await post("/api/v1/auth/login", { email, password: "violet-kangaroo-42" }, from);
    expect(next.status).toBe(429);
    expect(next.body.code).toBe("RATE_LIMITED");
    // Another address is not affected.
    expect((await post("/api/v1/auth/login", { email, password: "violet-kangaroo-42" }, "203.0.113.100")).status).toBe(
      200,
    );
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy: spoofed addresses do not dodge the limit", async () => {
    const direct = await serve({});
    const email = await signedUp(direct);
    for (let i = 0; i < 10; i++) {
      const spoofed = `192.0.2.${i + 1}`;
      expect((await direct.post("/api/v1/auth/login", { email, password: `guess-${i}` }, spoofed)).status).toBe(401);
    }
    const blocked = await direct.post("/api/v1/auth/login", { email, password: "violet-kangaroo-42" }, "192.0.2.200");
    expect(blocked.status).toBe(429);
  });
});

describe("sign-up throttling per address", () => {
  it("refuses the 11th sign-up from one address within 10 minutes with 429 and Retry-After, not another's", async () => {
    const { post } = behindProxy;
    const from = "203.0.113.50";
    const taken = uniqueEmail("taken");
    for (let i = 0; i < 10; i++) {
      // A duplicate counts too: EMAIL_TAKEN is the answer to "is this email registered?".
      const email = i === 9 ? taken : uniqueEmail("flood");
      if (i === 9)
        await behindProxy.t.post("/api/v1/auth/signup", { email, password: "violet-kangaroo-42", name: "T" });
      const res = await post("/api/v1/auth/signup", { email, password: "violet-kangaroo-42", name: "Flood" }, from);
      expect(res.status).toBe(i === 9 ? 409 : 201);
    }
    const refused = await post(
      "/api/v1/auth/signup",
      { email: uniqueEmail("flood"), password: "violet-kangaroo-42", name: "Flood" },
      from,
    );
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe("RATE_LIMITED");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const elsewhere = await post(
      "/api/v1/auth/signup",
      { email: uniqueEmail("other"), password: "violet-kangaroo-42", name: "Other" },
      "203.0.113.51",
    );
    expect(elsewhere.status).toBe(201);
  });
});

describe("admission control on password hashing", () => {
  it("refuses what does not fit in the line with 503 and Retry-After; those admitted are answered", async () => {
    const narrow = await serve({
      TRUSTED_PROXIES: "127.0.0.1",
      PASSWORD_HASH_CONCURRENCY: "1",
      PASSWORD_HASH_QUEUE: "1",
    });
    const email = await signedUp(narrow);
    const flood = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        narrow.post(
          "/api/v1/auth/login",
          { email: uniqueEmail("flood"), password: "violet-kangaroo-42" },
          `198.51.100.${i + 1}`,
        ),
      ),
    );
    const statuses = flood.map((res) => res.status);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(2);
    const refused = flood.filter((res) => res.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
    for (const res of refused) {
      expect(res.body.code).toBe("UNAVAILABLE");
      expect(res.headers.get("retry-after")).toBe("1");
    }
    // Once the flood has passed, the owner logs in.
    expect(
      (await narrow.post("/api/v1/auth/login", { email, password: "violet-kangaroo-42" }, "198.51.100.200")).status,
    ).toBe(200);
  });
});

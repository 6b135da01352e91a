import { afterAll, describe, expect, it } from "bun:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { createTestApp } from "../support/harness";

// Response headers (issue 17, item 8): nothing that carries a token or personal data may be stored by a browser
// or proxy; the usual hardening headers everywhere; /docs under a content security policy that still lets
// the reference render (test/e2e/docs-browser.test.ts drives it in Chromium); its 4 MB script compressed.
const t = await createTestApp();
afterAll(() => t.close());
const buyer = await t.registerUser("BUYER");

describe("Cache-Control: no-store", () => {
  it("is on the login answer (a token), signup, the caller's profile, balances and orders", async () => {
    const login = await t.post("/api/v1/auth/login", { email: buyer.email, password: buyer.password });
    const signup = await t.post("/api/v1/auth/signup", {
      email: `headers-${crypto.randomUUID()}@test.kicks`,
      password: "another-password-9",
      name: "Headers",
    });
    const me = await t.get("/api/v1/users/me", { token: buyer.token });
    const balance = await t.get(`/api/v1/balances/${buyer.user.id}`, { token: buyer.token });
    const orders = await t.get("/api/v1/orders", { token: buyer.token });
    const refused = await t.get("/api/v1/users/me");
    for (const res of [login, signup, me, balance, orders, refused]) {
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    expect([login.status, signup.status, me.status, balance.status, orders.status]).toEqual([200, 201, 200, 200, 200]);
  });

  it("is also on /metrics, and not forced on public catalogue reads", async () => {
    expect((await t.get("/metrics")).headers.get("cache-control")).toBe("no-store");
    expect((await t.get("/api/v1/products")).headers.get("cache-control")).not.toBe("no-store");
  });
});

describe("hardening headers", () => {
  it("sends nosniff, a referrer policy, HSTS and a deny-all CSP with frame-ancestors 'none' on API answers", async () => {
    const balance = await t.get(`/api/v1/balances/${buyer.user.id}`, { token: buyer.token });
    for (const res of [
      await t.get("/api/v1/products"),
      await t.get("/api/v1/users/me"),
      await t.get("/nowhere"),
      balance,
    ]) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("strict-transport-security")).toContain("max-age=");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });

  it("sends them on a balance, made with its headers in one go (personalJson): each once, JSON, no-store", async () => {
    const res = await t.app.request(`/api/v1/balances/${buyer.user.id}`, {
      headers: { Authorization: `Bearer ${buyer.token}`, "X-Request-Id": "balance-headers-1" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-request-id")).toBe("balance-headers-1");
    const names = [...res.headers.keys()];
    expect(names.length).toBe(new Set(names).size);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cross-origin-resource-policy")).toBe("same-origin");
    expect(await res.json()).toEqual({
      userId: buyer.user.id,
      balance: 0,
      version: expect.any(Number),
      updatedAt: expect.any(String),
    });
  });

  it("puts /docs under a CSP of its own: scripts from itself and the page's one inline script, never framed", async () => {
    const res = await t.get("/docs");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(csp).not.toContain("'unsafe-eval'");
    expect(csp).toContain("connect-src 'self'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    // The hash is the inline script's own.
    const inline = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(res.body as string)?.[1] as string;
    const hash = new Bun.CryptoHasher("sha256").update(inline).digest("base64");
    expect(csp).toContain(`'sha256-${hash}'`);
  });
});

describe("/docs/scalar.js", () => {
  const original = async () => {
    const res = await t.app.request("/docs/scalar.js");
    return new Uint8Array(await res.arrayBuffer());
  };

  it("is sent brotli-compressed when accepted, much smaller, and the same script", async () => {
    const plain = await original();
    const res = await t.app.request("/docs/scalar.js", { headers: { "Accept-Encoding": "gzip, deflate, br" } });
    expect(res.headers.get("content-encoding")).toBe("br");
    expect(res.headers.get("vary")).toContain("Accept-Encoding");
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body.length).toBeLessThan(plain.length / 3);
    expect(Number(res.headers.get("content-length"))).toBe(body.length);
    expect(Buffer.from(brotliDecompressSync(body)).equals(Buffer.from(plain))).toBe(true);
  });

  it("is sent gzip-compressed to a client that takes only gzip, and plain to one that takes nothing", async () => {
    const plain = await original();
    const gz = await t.app.request("/docs/scalar.js", { headers: { "Accept-Encoding": "gzip" } });
    expect(gz.headers.get("content-encoding")).toBe("gzip");
    expect(Buffer.from(gunzipSync(new Uint8Array(await gz.arrayBuffer()))).equals(Buffer.from(plain))).toBe(true);
    const none = await t.app.request("/docs/scalar.js", { headers: { "Accept-Encoding": "identity, br;q=0" } });
    expect(none.headers.get("content-encoding")).toBeNull();
    expect(plain.length).toBeGreaterThan(1_000_000);
  });
});

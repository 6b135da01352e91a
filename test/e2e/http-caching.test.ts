import { afterAll, describe, expect, it } from "bun:test";
import { entityTag, matchesEntityTag } from "../../src/routes/lib/public-read";
import { createTestApp, type TestApp } from "../support/harness";
import { createProductVia, metricValue } from "../support/products";

// Public reads carry an ETag and a Cache-Control a CDN may honour, and a client that already holds the current
// body gets a 304 without one.
const t = await createTestApp();
const short = await createTestApp({ env: { PUBLIC_CACHE_MAX_AGE_SECONDS: "2" } });
afterAll(async () => {
  await t.close();
  await short.close();
});
const seller = await t.registerUser("SELLER");

const modelCode = () => `HC${crypto.randomUUID().slice(0, 8).toUpperCase()}-612`;

/** GET with If-None-Match, as a raw response (the harness parses bodies; a 304 must have none). */
const revalidate = (app: TestApp, path: string, tag: string) =>
  app.app.request(path, { headers: { "If-None-Match": tag } });

describe("public reads", () => {
  it("send an ETag and Cache-Control: public, max-age=0 by default", async () => {
    const product = await createProductVia(t, seller.token);
    const res = await t.get(`/api/v1/products/${product.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("ETag")).toMatch(/^W\/"[0-9a-z]+-[0-9a-z]+"$/);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=0");
  });

  it("take max-age from PUBLIC_CACHE_MAX_AGE_SECONDS", async () => {
    const product = await createProductVia(short, seller.token);
    const res = await short.get(`/api/v1/products/${product.id}`);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=2");
  });

  it("answer If-None-Match with the current ETag with a 304 and no body, on every public read", async () => {
    const code = modelCode();
    const product = await createProductVia(t, seller.token, { modelCode: code, shoeSize: "270" });
    const paths = [
      `/api/v1/products/${product.id}`,
      `/api/v1/products?brand=Testbrand&size=5`,
      "/api/v1/products/popular?days=2",
      `/api/v1/models/${code}`,
    ];
    for (const path of paths) {
      const first = await t.get(path);
      expect(first.status).toBe(200);
      const tag = first.headers.get("ETag") as string;
      const again = await revalidate(t, path, tag);
      expect(again.status).toBe(304);
      expect(await again.text()).toBe("");
      expect(again.headers.get("ETag")).toBe(tag);
      expect(again.headers.get("Cache-Control")).toBe("public, max-age=0");
      // A list of tags, weak or strong, or `*`: any match is enough.
      expect((await revalidate(t, path, `"other", ${tag.slice(2)}`)).status).toBe(304);
      expect((await revalidate(t, path, "*")).status).toBe(304);
      expect((await revalidate(t, path, 'W/"not-this-one"')).status).toBe(200);
    }
  });

  it("answer 200 with the new body and a new ETag once the product changed", async () => {
    const product = await createProductVia(t, seller.token, { stock: 20 });
    const path = `/api/v1/products/${product.id}`;
    const before = (await t.get(path)).headers.get("ETag") as string;
    await t.patch(path, { version: product.version, stock: 3 }, { token: seller.token });
    const after = await revalidate(t, path, before);
    expect(after.status).toBe(200);
    expect(((await after.json()) as { stock: number }).stock).toBe(3);
    expect(after.headers.get("ETag")).not.toBe(before);
  });

  it("answer a 304 from the cache: revalidating loads nothing from the database", async () => {
    const product = await createProductVia(t, seller.token);
    const path = `/api/v1/products/${product.id}`;
    const tag = (await t.get(path)).headers.get("ETag") as string;
    const loads = async () => metricValue((await t.get("/metrics")).body, "cache_loads_total", { cache: "product" });
    const before = await loads();
    for (let i = 0; i < 5; i++) expect((await revalidate(t, path, tag)).status).toBe(304);
    expect(await loads()).toBe(before);
  });

  it("leave errors and personal reads out of public caching", async () => {
    const missing = await t.get(`/api/v1/products/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("ETag")).toBeNull();
    const balance = await t.get(`/api/v1/balances/${seller.user.id}`, { token: seller.token });
    expect(balance.headers.get("ETag")).toBeNull();
    expect(balance.headers.get("Cache-Control")).toBe("no-store");
  });
});

describe("entity tags", () => {
  it("are the same for the same bytes and differ for different bytes", () => {
    expect(entityTag('{"a":1}')).toBe(entityTag('{"a":1}'));
    expect(entityTag('{"a":1}')).not.toBe(entityTag('{"a":2}'));
  });

  it("match by weak comparison", () => {
    const tag = entityTag("x");
    expect(matchesEntityTag(tag, tag)).toBe(true);
    expect(matchesEntityTag(tag.slice(2), tag)).toBe(true);
    expect(matchesEntityTag(` "a" , ${tag} `, tag)).toBe(true);
    expect(matchesEntityTag('"a", W/"b"', tag)).toBe(false);
  });
});

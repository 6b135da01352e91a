import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp } from "../support/harness";
import { createProductVia } from "../support/products";

const t = await createTestApp();
afterAll(() => t.close());

const seller = await t.registerUser("SELLER");
const otherSeller = await t.registerUser("SELLER");
const buyer = await t.registerUser("BUYER");
const admin = await t.registerUser("ADMIN");

const validProduct = { name: "Gel-Kayano 14", brand: "Asics", category: "running", price: 169000, stock: 25 };

describe("POST /api/v1/products", () => {
  it("puts a product on sale for a seller, owned by that seller", async () => {
    const res = await t.post("/api/v1/products", { ...validProduct, description: "Cream / Black" }, seller);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      sellerId: seller.user.id,
      ...validProduct,
      description: "Cream / Black",
      reservedStock: 0,
      soldQuantity: 0,
      status: "AVAILABLE",
      onSale: true,
      lowStockThreshold: 5,
      version: 1,
    });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(res.body.createdAt)).not.toBeNaN();
  });

  it("lets an admin put a product on sale too", async () => {
    const res = await t.post("/api/v1/products", { ...validProduct, lowStockThreshold: 30 }, admin);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ sellerId: admin.user.id, status: "LOW_STOCK", onSale: true });
  });

  it("refuses a buyer with 403 and an anonymous caller with 401", async () => {
    expect((await t.post("/api/v1/products", validProduct, buyer)).body.code).toBe("FORBIDDEN");
    expect((await t.post("/api/v1/products", validProduct)).status).toBe(401);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ["a price of 0", { price: 0 }, "price"],
    ["a fractional price", { price: 1999.5 }, "price"],
    ["a price sent as a string", { price: "169000" }, "price"],
    ["a price beyond the cap", { price: 1_000_000_001 }, "price"],
    ["negative stock", { stock: -1 }, "stock"],
    ["absurd stock", { stock: 10_000_001 }, "stock"],
    ["an empty name", { name: "   " }, "name"],
    ["a 201-character name", { name: "x".repeat(201) }, "name"],
    ["a name with a control character", { name: "Air\u0000Max" }, "name"],
    ["a negative threshold", { lowStockThreshold: -1 }, "lowStockThreshold"],
    ["an unknown field", { colour: "red" }, "colour"],
  ];
  for (const [what, change, path] of invalid) {
    it(`answers ${what} with 400 VALIDATION_FAILED on ${path}`, async () => {
      const res = await t.post("/api/v1/products", { ...validProduct, ...change }, seller);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    });
  }

  it("answers a missing field with 400 naming it", async () => {
    const { brand: _brand, ...withoutBrand } = validProduct;
    const res = await t.post("/api/v1/products", withoutBrand, seller);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(["brand"]);
  });
});

describe("GET /api/v1/products/{productId}", () => {
  it("answers anyone, without a token", async () => {
    const product = await createProductVia(t, seller.token);
    const res = await t.get(`/api/v1/products/${product.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.body).toEqual(product);
  });

  it("accepts an id in upper case", async () => {
    const product = await createProductVia(t, seller.token);
    expect((await t.get(`/api/v1/products/${product.id.toUpperCase()}`)).body.id).toBe(product.id);
  });

  it("answers an unknown or malformed id with 404 PRODUCT_NOT_FOUND, never 400 or 500", async () => {
    for (const id of [Bun.randomUUIDv7(), "not-a-uuid", "1", "'; drop table products; --", "%00"]) {
      const res = await t.get(`/api/v1/products/${encodeURIComponent(id)}`);
      expect({ id, status: res.status, code: res.body.code }).toEqual({ id, status: 404, code: "PRODUCT_NOT_FOUND" });
    }
  });
});

describe("PATCH /api/v1/products/{productId}", () => {
  it("edits the seller's own product at the version it read, bumping the version", async () => {
    const product = await createProductVia(t, seller.token, { stock: 20 });
    const res = await t.patch(`/api/v1/products/${product.id}`, { version: 1, price: 99000, stock: 3 }, seller);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ price: 99000, stock: 3, status: "LOW_STOCK", version: 2 });
  });

  it("answers a stale version with 409 VERSION_CONFLICT and the current version, changing nothing", async () => {
    const product = await createProductVia(t, seller.token, { price: 120000 });
    await t.patch(`/api/v1/products/${product.id}`, { version: 1, name: "First edit" }, seller);
    const res = await t.patch(`/api/v1/products/${product.id}`, { version: 1, price: 1 }, seller);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "VERSION_CONFLICT", currentVersion: 2 });
    expect((await t.get(`/api/v1/products/${product.id}`)).body).toMatchObject({ price: 120000, version: 2 });
  });

  it("refuses another seller and a buyer with 403, and lets an admin edit", async () => {
    const product = await createProductVia(t, seller.token);
    const edit = { version: 1, name: "Hijacked" };
    expect((await t.patch(`/api/v1/products/${product.id}`, edit, otherSeller)).status).toBe(403);
    expect((await t.patch(`/api/v1/products/${product.id}`, edit, buyer)).status).toBe(403);
    const res = await t.patch(`/api/v1/products/${product.id}`, { version: 1, name: "Fixed by admin" }, admin);
    expect(res.status).toBe(200);
    expect(res.body.name).toBe("Fixed by admin");
  });

  it("answers an edit with nothing to change, or a bad field, with 400", async () => {
    const product = await createProductVia(t, seller.token);
    const path = `/api/v1/products/${product.id}`;
    expect((await t.patch(path, { version: 1 }, seller)).body.code).toBe("VALIDATION_FAILED");
    expect((await t.patch(path, { price: 1000 }, seller)).body.errors[0].path).toBe("version");
    expect((await t.patch(path, { version: 1, sellerId: buyer.user.id }, seller)).status).toBe(400);
    expect((await t.patch(path, { version: 1, stock: 1.5 }, seller)).body.errors[0].path).toBe("stock");
  });

  it("answers an unknown product with 404", async () => {
    const res = await t.patch(`/api/v1/products/${Bun.randomUUIDv7()}`, { version: 1, price: 1000 }, seller);
    expect(res.body.code).toBe("PRODUCT_NOT_FOUND");
  });
});

describe("POST /api/v1/products/{productId}/discontinue", () => {
  it("takes the product off sale for good, and a second call changes nothing", async () => {
    const product = await createProductVia(t, seller.token);
    const first = await t.post(`/api/v1/products/${product.id}/discontinue`, undefined, seller);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: "DISCONTINUED", onSale: false, version: 2 });
    const second = await t.post(`/api/v1/products/${product.id}/discontinue`, undefined, seller);
    expect(second.body).toMatchObject({ status: "DISCONTINUED", version: 2 });
  });

  it("refuses anyone but the product's seller or an admin", async () => {
    const product = await createProductVia(t, seller.token);
    expect((await t.post(`/api/v1/products/${product.id}/discontinue`, undefined, otherSeller)).status).toBe(403);
    expect((await t.post(`/api/v1/products/${product.id}/discontinue`, undefined, buyer)).status).toBe(403);
    expect((await t.post(`/api/v1/products/${product.id}/discontinue`)).status).toBe(401);
    expect((await t.post(`/api/v1/products/${product.id}/discontinue`, undefined, admin)).status).toBe(200);
  });
});

describe("GET /api/v1/products: filters and sorts", () => {
  // A category of this file's own, so other files' products never show up in these lists.
  const category = `cat-${crypto.randomUUID().slice(0, 8)}`;
  const catalogue = [
    { name: "Air Max 90", brand: "Nike", price: 159000, stock: 40 },
    { name: "Air Force 1 '07", brand: "Nike", price: 139000, stock: 3 },
    { name: "AIR JORDAN 1 High", brand: "Jordan", price: 219000, stock: 0 },
    { name: "Dunk Low Retro", brand: "Nike", price: 129000, stock: 12 },
    { name: "Gel-Lyte III", brand: "Asics", price: 149000, stock: 8 },
    { name: "990v6 Made in USA", brand: "New Balance", price: 279000, stock: 6 },
    { name: "550 White Green", brand: "New Balance", price: 149000, stock: 5 },
    { name: "Samba OG", brand: "adidas", price: 139000, stock: 50 },
    { name: "Gazelle Indoor", brand: "adidas", price: 139000, stock: 1 },
    { name: "100% Suede", brand: "Puma", price: 99000, stock: 30 },
    { name: "Old Skool_Pro", brand: "Vans", price: 89000, stock: 0 },
    { name: "Chuck 70 Hi", brand: "Converse", price: 109000, stock: 15 },
  ];
  type Listed = { id: string; name: string; brand: string; price: number; status: string; createdAt: string };
  let created: Listed[] = [];

  beforeAll(async () => {
    created = [];
    for (const item of catalogue) created.push((await createProductVia(t, seller.token, { ...item, category })) as any);
    // One discontinued product: the default list leaves it out; `status=DISCONTINUED` finds it.
    const discontinued = created.find((p) => p.name === "Gazelle Indoor")!;
    await t.post(`/api/v1/products/${discontinued.id}/discontinue`, undefined, seller);
    discontinued.status = "DISCONTINUED";
  });

  const list = async (query: string) => {
    const res = await t.get(`/api/v1/products?category=${category}&size=100&${query}`);
    expect(res.status).toBe(200);
    return res.body as { items: Listed[]; total: number; page: number; size: number; nextCursor: string | null };
  };
  const names = (items: Listed[]) => items.map((p) => p.name);
  const listed = () => created.filter((p) => p.status !== "DISCONTINUED");
  const EVERY_STATUS = "status=AVAILABLE,LOW_STOCK,RESERVED,SOLD,OUT_OF_STOCK,DISCONTINUED";
  const byNewest = (a: Listed, b: Listed) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);
  const byPrice = (a: Listed, b: Listed) => a.price - b.price || a.id.localeCompare(b.id);

  it("lists newest first by default, ties broken by id, without the discontinued product", async () => {
    const body = await list("");
    expect(body.total).toBe(11);
    expect(names(body.items)).toEqual(names(listed().sort(byNewest)));
    expect(names((await list("status=DISCONTINUED")).items)).toEqual(["Gazelle Indoor"]);
    expect((await list(EVERY_STATUS)).total).toBe(12);
  });

  it("sorts by price both ways, equal prices by id", async () => {
    expect(names((await list("sort=price_asc")).items)).toEqual(names(listed().sort(byPrice)));
    expect(names((await list("sort=price_desc")).items)).toEqual(names(listed().sort(byPrice).reverse()));
  });

  it("sorts by units sold for popular (none sold yet: ties by id, newest id first)", async () => {
    const ids = (await list("sort=popular")).items.map((p) => p.id);
    expect(ids).toEqual(
      listed()
        .map((p) => p.id)
        .sort()
        .reverse(),
    );
  });

  it("finds names by any part, in any case", async () => {
    expect(names((await list("q=air&sort=price_asc")).items)).toEqual([
      "Air Force 1 '07",
      "Air Max 90",
      "AIR JORDAN 1 High",
    ]);
    expect(names((await list("q=GEL-lyte")).items)).toEqual(["Gel-Lyte III"]);
  });

  it("treats % and _ in a search as plain characters", async () => {
    expect(names((await list("q=100%25")).items)).toEqual(["100% Suede"]);
    // As a pattern, "e_g" would match "White Green" ("e G").
    expect(names((await list("q=e_g")).items)).toEqual([]);
    expect(names((await list("q=skool_pro")).items)).toEqual(["Old Skool_Pro"]);
  });

  it("filters by brand in any case, and by an inclusive price range", async () => {
    expect(names((await list("brand=NEW%20BALANCE&sort=price_asc")).items)).toEqual([
      "550 White Green",
      "990v6 Made in USA",
    ]);
    const ranged = await list("minPrice=139000&maxPrice=149000&sort=price_asc");
    expect(ranged.items.every((p) => p.price >= 139000 && p.price <= 149000)).toBe(true);
    expect(ranged.total).toBe(4);
    expect(names((await list("minPrice=219000&maxPrice=219000")).items)).toEqual(["AIR JORDAN 1 High"]);
  });

  it("filters by status exactly as each product shows it", async () => {
    for (const status of ["AVAILABLE", "LOW_STOCK", "OUT_OF_STOCK", "DISCONTINUED", "RESERVED", "SOLD"]) {
      const body = await list(`status=${status}`);
      const expected = (await list(EVERY_STATUS)).items.filter((p) => p.status === status);
      expect({ status, names: names(body.items) }).toEqual({ status, names: names(expected) });
    }
    expect(names((await list("status=OUT_OF_STOCK")).items).sort()).toEqual(["AIR JORDAN 1 High", "Old Skool_Pro"]);
    expect(names((await list("status=LOW_STOCK&sort=price_asc")).items)).toEqual([
      "Air Force 1 '07",
      "550 White Green",
    ]);
  });

  it("combines every filter with every sort", async () => {
    const everything = (await list("")).items;
    const filters: [string, (p: Listed) => boolean][] = [
      ["", () => true],
      ["q=o", (p) => p.name.toLowerCase().includes("o")],
      ["brand=nike", (p) => p.brand === "Nike"],
      ["minPrice=130000", (p) => p.price >= 130000],
      ["maxPrice=140000", (p) => p.price <= 140000],
      ["status=AVAILABLE", (p) => p.status === "AVAILABLE"],
      [
        "q=a&brand=nike&minPrice=130000&maxPrice=160000&status=AVAILABLE",
        (p) =>
          p.name.toLowerCase().includes("a") &&
          p.brand === "Nike" &&
          p.price >= 130000 &&
          p.price <= 160000 &&
          p.status === "AVAILABLE",
      ],
    ];
    const sorts: [string, (a: Listed, b: Listed) => number][] = [
      ["newest", byNewest],
      ["price_asc", byPrice],
      ["price_desc", (a, b) => byPrice(b, a)],
    ];
    for (const [filter, keep] of filters) {
      for (const [sort, compare] of sorts) {
        const body = await list(`${filter}&sort=${sort}`);
        const expected = everything.filter(keep).sort(compare);
        expect({ filter, sort, names: names(body.items), total: body.total }).toEqual({
          filter,
          sort,
          names: names(expected),
          total: expected.length,
        });
      }
    }
  });

  it("pages with page and size, counting every match in total", async () => {
    const all = names((await list("sort=price_asc")).items);
    const page2 = await t.get(`/api/v1/products?category=${category}&sort=price_asc&size=5&page=2`);
    expect(page2.body).toMatchObject({ page: 2, size: 5, total: 11 });
    expect(names(page2.body.items)).toEqual(all.slice(5, 10));
    const beyond = await t.get(`/api/v1/products?category=${category}&size=5&page=9`);
    expect(beyond.body).toMatchObject({ items: [], page: 9, total: 11, nextCursor: null });
  });

  for (const sort of ["newest", "price_asc", "price_desc", "popular"]) {
    it(`walks every product exactly once by cursor (${sort})`, async () => {
      const all = (await list(`sort=${sort}`)).items.map((p) => p.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `category=${category}&sort=${sort}&size=5${cursor ? `&cursor=${cursor}` : ""}`;
        const res = await t.get(`/api/v1/products?${query}`);
        expect(res.status).toBe(200);
        expect(res.body.page).toBe(++pages);
        expect(res.body.total).toBe(11);
        seen.push(...res.body.items.map((p: Listed) => p.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual(all);
    });
  }
});

describe("GET /api/v1/products: cursor walks while products are added", () => {
  it("neither repeats nor skips a product that existed when the walk began", async () => {
    const category = `walk-${crypto.randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 15; i++) await createProductVia(t, seller.token, { category, price: 10_000 * (i + 1) });
    for (const sort of ["newest", "price_asc"]) {
      const before = (await t.get(`/api/v1/products?category=${category}&sort=${sort}&size=100`)).body.items.map(
        (p: Listed) => p.id,
      );
      const seen: string[] = [];
      let cursor: string | null = null;
      let added = 0;
      do {
        const suffix: string = cursor ? `&cursor=${cursor}` : "";
        const res = await t.get(`/api/v1/products?category=${category}&sort=${sort}&size=4${suffix}`);
        seen.push(...res.body.items.map((p: Listed) => p.id));
        cursor = res.body.nextCursor;
        // New products land before, between and after the walk's position.
        await createProductVia(t, seller.token, { category, price: 5_000 + 40_000 * added++ });
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of before) expect(seen).toContain(id);
    }
  });

  type Listed = { id: string };
});

describe("GET /api/v1/products: bad input", () => {
  const bad: [string, string][] = [
    ["sort=cheapest", "query.sort"],
    ["status=ON_SALE", "query.status"],
    ["minPrice=200&maxPrice=100", "query.minPrice"],
    ["minPrice=99999999999999999999", "query.minPrice"],
    ["maxPrice=1.5", "query.maxPrice"],
    ["maxPrice=1e3", "query.maxPrice"],
    ["minPrice=-1", "query.minPrice"],
    ["q=", "query.q"],
    ["q=%20%20", "query.q"],
    [`q=${"a".repeat(10_000)}`, "query.q"],
    ["size=0", "query.size"],
    ["size=101", "query.size"],
    ["page=0", "query.page"],
    ["cursor=garbage", "query.cursor"],
    [`cursor=${"x".repeat(2000)}`, "query.cursor"],
  ];
  for (const [query, path] of bad) {
    it(`answers ?${query.slice(0, 40)} with 400 on ${path}`, async () => {
      const res = await t.get(`/api/v1/products?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    });
  }

  it("refuses a cursor with other filters, another sort, or edited, with 400 on query.cursor", async () => {
    const category = `cur-${crypto.randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 3; i++) await createProductVia(t, seller.token, { category });
    const first = await t.get(`/api/v1/products?category=${category}&size=1`);
    const cursor: string = first.body.nextCursor;
    expect(cursor).toBeString();
    for (const query of [
      `category=${category}&size=1&sort=price_asc&cursor=${cursor}`,
      `category=other&size=1&cursor=${cursor}`,
      `category=${category}&size=1&cursor=${cursor.slice(0, -1)}A`,
      `category=${category}&size=1&cursor=A${cursor.slice(1)}`,
    ]) {
      const res = await t.get(`/api/v1/products?${query}`);
      expect({ query, status: res.status, path: res.body.errors?.[0]?.path }).toEqual({
        query,
        status: 400,
        path: "query.cursor",
      });
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp } from "../support/harness";
import { placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

const t = await createTestApp();
afterAll(() => t.close());

const sellerA = await t.registerUser("SELLER");
const sellerB = await t.registerUser("SELLER");
const buyer = await t.registerUser("BUYER");

// A category of this file's own, so other files' products never show up in these lists.
const category = `store-${crypto.randomUUID().slice(0, 8)}`;
type Listed = { id: string; sellerId: string; status: string; onSale: boolean; price: number; createdAt: string };
const made: Listed[] = [];

beforeAll(async () => {
  // Each status twice or more, spread over two sellers.
  const specs: [typeof sellerA, Record<string, unknown>][] = [
    [sellerA, { stock: 50 }], // AVAILABLE
    [sellerB, { stock: 40 }], // AVAILABLE
    [sellerA, { stock: 2 }], // LOW_STOCK
    [sellerB, { stock: 3 }], // LOW_STOCK
    [sellerA, { stock: 0 }], // OUT_OF_STOCK
    [sellerB, { stock: 0 }], // OUT_OF_STOCK
    [sellerA, { stock: 1 }], // → RESERVED (ordered below)
    [sellerA, { stock: 20 }], // → DISCONTINUED
    [sellerB, { stock: 20 }], // → DISCONTINUED
  ];
  for (const [i, [seller, fields]] of specs.entries()) {
    made.push((await createProductVia(t, seller.token, { category, price: 100_000 + i * 1000, ...fields })) as any);
  }
  await placeOrder(t, buyer.token, buyer.user.id, [{ productId: made[6]!.id, quantity: 1 }]);
  for (const i of [7, 8])
    await t.post(`/api/v1/products/${made[i]!.id}/discontinue`, undefined, i === 7 ? sellerA : sellerB);
  for (const [i, product] of made.entries()) made[i] = (await t.get(`/api/v1/products/${product.id}`)).body;
});

const newest = (a: Listed, b: Listed) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);
const ids = (items: Listed[]) => items.map((p) => p.id);

/** Every page of the list by cursor (size 2), checking page numbers and totals on the way. */
async function walk(query: string): Promise<{ ids: string[]; total: number }> {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  let total = -1;
  do {
    const suffix: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const res = await t.get(`/api/v1/products?category=${category}&size=2&${query}${suffix}`);
    expect({ query, status: res.status }).toEqual({ query, status: 200 });
    expect(res.body.page).toBe(++pages);
    if (total >= 0) expect(res.body.total).toBe(total);
    total = res.body.total;
    seen.push(...ids(res.body.items));
    cursor = res.body.nextCursor;
  } while (cursor);
  return { ids: seen, total };
}

const expectWalk = async (query: string, keep: (p: Listed) => boolean) => {
  const expected = ids(made.filter(keep).sort(newest));
  const walked = await walk(query);
  expect({ query, ...walked }).toEqual({ query, ids: expected, total: expected.length });
};

describe("the storefront's product list", () => {
  it("leaves DISCONTINUED products out by default, and shows them when asked", async () => {
    expect(made.map((p) => p.status)).toEqual([
      "AVAILABLE",
      "AVAILABLE",
      "LOW_STOCK",
      "LOW_STOCK",
      "OUT_OF_STOCK",
      "OUT_OF_STOCK",
      "RESERVED",
      "DISCONTINUED",
      "DISCONTINUED",
    ]);
    await expectWalk("", (p) => p.status !== "DISCONTINUED");
    await expectWalk("status=DISCONTINUED", (p) => p.status === "DISCONTINUED");
  });

  it("takes several statuses, comma-separated, in any order and repeated", async () => {
    await expectWalk("status=AVAILABLE,LOW_STOCK", (p) => p.status === "AVAILABLE" || p.status === "LOW_STOCK");
    await expectWalk("status=DISCONTINUED,RESERVED,DISCONTINUED", (p) =>
      ["DISCONTINUED", "RESERVED"].includes(p.status),
    );
  });

  it("filters by onSale both ways (the default still without DISCONTINUED)", async () => {
    await expectWalk("onSale=true", (p) => p.onSale);
    await expectWalk("onSale=false", (p) => !p.onSale && p.status !== "DISCONTINUED");
    await expectWalk("onSale=false&status=DISCONTINUED,OUT_OF_STOCK", (p) =>
      ["DISCONTINUED", "OUT_OF_STOCK"].includes(p.status),
    );
  });

  it("lists one seller's own products, combined with the other filters", async () => {
    await expectWalk(
      `sellerId=${sellerA.user.id}`,
      (p) => p.sellerId === sellerA.user.id && p.status !== "DISCONTINUED",
    );
    await expectWalk(
      `sellerId=${sellerB.user.id}&onSale=true&sort=newest`,
      (p) => p.sellerId === sellerB.user.id && p.onSale,
    );
    await expectWalk(
      `sellerId=${sellerA.user.id.toUpperCase()}&status=DISCONTINUED,AVAILABLE`,
      (p) => p.sellerId === sellerA.user.id && ["DISCONTINUED", "AVAILABLE"].includes(p.status),
    );
  });

  it("walks a filtered list by price with cursors too", async () => {
    const walked = await walk("onSale=true&sort=price_asc");
    const expected = made.filter((p) => p.onSale).sort((a, b) => a.price - b.price || a.id.localeCompare(b.id));
    expect(walked.ids).toEqual(ids(expected));
  });

  it("refuses a cursor taken from a list with other filters", async () => {
    const first = await t.get(`/api/v1/products?category=${category}&size=1&onSale=true`);
    for (const query of ["onSale=false", "status=AVAILABLE", `sellerId=${sellerA.user.id}`, ""]) {
      const res = await t.get(`/api/v1/products?category=${category}&size=1&${query}&cursor=${first.body.nextCursor}`);
      expect({ query, status: res.status, path: res.body.errors?.[0]?.path }).toEqual({
        query,
        status: 400,
        path: "query.cursor",
      });
    }
  });

  it("answers bad filters with 400 naming them", async () => {
    for (const [query, path] of [
      ["status=AVAILABLE,ON_SALE", "query.status"],
      ["status=", "query.status"],
      ["onSale=yes", "query.onSale"],
      ["sellerId=not-a-uuid", "query.sellerId"],
      ["modelCode=a%20b", "query.modelCode"],
    ]) {
      const res = await t.get(`/api/v1/products?${query}`);
      expect({ query, status: res.status, paths: res.body.errors?.map((e: any) => e.path) }).toEqual({
        query,
        status: 400,
        paths: [path],
      });
    }
  });
});

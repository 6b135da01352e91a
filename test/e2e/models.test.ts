import { afterAll, describe, expect, it } from "bun:test";
import { createTestApp, hasRedis, openTestDatabase, type TestApp } from "../support/harness";
import { payOrder, placeOrder } from "../support/orders";
import { createProductVia, metricValue } from "../support/products";
import { countingDatabase } from "../support/query-counter";
import { waitFor } from "../support/wait";

const counting = countingDatabase(openTestDatabase());
const t = await createTestApp({ database: counting.database });
// A second instance over the same database and Redis (single-instance mode has no shared cache to test).
const other: TestApp | undefined = hasRedis ? await createTestApp() : undefined;
afterAll(async () => {
  await other?.close();
  await t.close();
});

const sellerA = await t.registerUser("SELLER");
const sellerB = await t.registerUser("SELLER");
const buyer = await t.registerUser("BUYER");

/** A model code of this test's own: other tests' products never join its page. */
const newModelCode = () => `KT${crypto.randomUUID().slice(0, 8).toUpperCase()}-612`;

const offer = (seller: { token: string }, modelCode: string, shoeSize: string, fields: Record<string, unknown> = {}) =>
  createProductVia(t, seller.token, {
    name: "Air Jordan 1 Retro High OG",
    brand: "Jordan",
    category: "basketball",
    modelCode,
    shoeSize,
    ...fields,
  });

const page = async (app: TestApp, modelCode: string) => {
  const res = await app.get(`/api/v1/models/${modelCode}`);
  expect(res.status).toBe(200);
  return res.body;
};
const sizeOf = (body: any, shoeSize: string) => body.sizes.find((s: any) => s.shoeSize === shoeSize);

describe("products in sizes", () => {
  it("carry modelCode and shoeSize in the product shape, null when a product has none", async () => {
    const code = newModelCode();
    const sized = await offer(sellerA, code, "270");
    expect(sized).toMatchObject({ modelCode: code, shoeSize: "270" });
    const plain = await createProductVia(t, sellerA.token);
    expect(plain).toMatchObject({ modelCode: null, shoeSize: null });
    expect((await t.get(`/api/v1/products/${plain.id}`)).body).toMatchObject({ modelCode: null, shoeSize: null });
  });

  it("take both or neither, in the contract's formats, else 400 naming the field", async () => {
    const base = { name: "Dunk Low", brand: "Nike", category: "lifestyle", price: 129000, stock: 5 };
    const cases: [Record<string, unknown>, string][] = [
      [{ modelCode: "DD1391-100" }, "shoeSize"],
      [{ shoeSize: "270" }, "modelCode"],
      [{ modelCode: "DD1391 100", shoeSize: "270" }, "modelCode"],
      [{ modelCode: "x".repeat(41), shoeSize: "270" }, "modelCode"],
      [{ modelCode: "DD1391-100", shoeSize: "12345678901" }, "shoeSize"],
      [{ modelCode: "DD1391-100", shoeSize: "  " }, "shoeSize"],
    ];
    for (const [fields, path] of cases) {
      const res = await t.post("/api/v1/products", { ...base, ...fields }, sellerA);
      expect({ fields, status: res.status, paths: res.body.errors?.map((e: any) => e.path) }).toEqual({
        fields,
        status: 400,
        paths: [path],
      });
    }
  });

  it("sell one (model, size) once per seller, the code in any case: a second is 409 SKU_TAKEN", async () => {
    const code = newModelCode();
    await offer(sellerA, code, "270");
    const again = await t.post(
      "/api/v1/products",
      {
        name: "AJ1",
        brand: "Jordan",
        category: "basketball",
        price: 1000,
        stock: 1,
        modelCode: code.toLowerCase(),
        shoeSize: "270",
      },
      sellerA,
    );
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: "SKU_TAKEN" });
    // Another size, or another seller, is another SKU.
    expect((await offer(sellerA, code, "275")).shoeSize).toBe("275");
    expect((await offer(sellerB, code, "270")).sellerId).toBe(sellerB.user.id);
  });

  it("filter the list by modelCode (any case) and shoeSize, keyset-paged", async () => {
    const code = newModelCode();
    const made = [];
    for (const size of ["250", "260", "270"]) made.push(await offer(sellerA, code, size));
    made.push(await offer(sellerB, code, "260"));
    const bySize = await t.get(`/api/v1/products?modelCode=${code.toLowerCase()}&shoeSize=260&sort=price_asc`);
    expect(bySize.body.items.map((p: any) => p.id).sort()).toEqual([made[1]!.id, made[3]!.id].sort());
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const suffix: string = cursor ? `&cursor=${cursor}` : "";
      const res = await t.get(`/api/v1/products?modelCode=${code}&size=3${suffix}`);
      expect(res.body.total).toBe(4);
      walked.push(...res.body.items.map((p: any) => p.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(walked.sort()).toEqual(made.map((p) => p.id).sort());
  });
});

describe("GET /api/v1/models/{modelCode}", () => {
  it("shows every seller's live offers by size, sizes in numeric order, the lowest price on sale, stock summed", async () => {
    const code = newModelCode();
    // Created out of order, and a size (95) that sorts wrongly as text.
    const a280 = await offer(sellerA, code, "280", { price: 250_000, stock: 2 });
    const a95 = await offer(sellerA, code, "95", { price: 199_000, stock: 1 });
    const a270 = await offer(sellerA, code, "270", { price: 239_000, stock: 4 });
    const b270 = await offer(sellerB, code, "270", { price: 229_000, stock: 3 });
    // The cheapest offer of 280 is sold out: it shows, but the lowest price is the one on sale.
    const b280 = await offer(sellerB, code, "280", { price: 180_000, stock: 0 });
    // A discontinued offer is not live: it is left out.
    const gone = await offer(sellerB, code, "95", { price: 1_000 });
    await t.post(`/api/v1/products/${gone.id}/discontinue`, undefined, sellerB);
    // The newest offer names the model.
    await offer(sellerB, code, "300", { name: "Air Jordan 1 High OG 'Lost and Found'", stock: 0 });

    const body = await page(t, code.toLowerCase());
    expect(body).toMatchObject({
      modelCode: code,
      name: "Air Jordan 1 High OG 'Lost and Found'",
      brand: "Jordan",
      category: "basketball",
    });
    expect(body.sizes.map((s: any) => s.shoeSize)).toEqual(["95", "270", "280", "300"]);
    expect(sizeOf(body, "270")).toEqual({
      shoeSize: "270",
      lowestPrice: 229_000,
      stock: 7,
      offers: [
        { productId: b270.id, sellerId: sellerB.user.id, price: 229_000, stock: 3, status: "LOW_STOCK", onSale: true },
        { productId: a270.id, sellerId: sellerA.user.id, price: 239_000, stock: 4, status: "LOW_STOCK", onSale: true },
      ],
    });
    expect(sizeOf(body, "280")).toMatchObject({ lowestPrice: 250_000, stock: 2 });
    expect(sizeOf(body, "280").offers.map((o: any) => [o.productId, o.onSale])).toEqual([
      [a280.id, true],
      [b280.id, false],
    ]);
    expect(sizeOf(body, "95").offers.map((o: any) => o.productId)).toEqual([a95.id]);
    expect(sizeOf(body, "300")).toMatchObject({ lowestPrice: null, stock: 0 });
  });

  it("answers a model nobody offers, or whose offers are all discontinued, with 404 MODEL_NOT_FOUND", async () => {
    const unknown = await t.get(`/api/v1/models/${newModelCode()}`);
    expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 404, code: "MODEL_NOT_FOUND" });
    const code = newModelCode();
    const only = await offer(sellerA, code, "270");
    await page(t, code);
    await t.post(`/api/v1/products/${only.id}/discontinue`, undefined, sellerA);
    expect((await t.get(`/api/v1/models/${code}`)).body.code).toBe("MODEL_NOT_FOUND");
    expect((await t.get("/api/v1/models/not%20a%20code")).status).toBe(400);
  });

  it("reads the page in one query and serves the next read from the cache", async () => {
    const code = newModelCode();
    await offer(sellerA, code, "270");
    const metrics = async () => (await t.get("/metrics")).body as string;
    const loadsBefore = metricValue(await metrics(), "cache_loads_total", { cache: "model" });
    const first = await counting.count(() => page(t, code));
    const second = await counting.count(() => page(t, code));
    expect({ miss: first.statements, hit: second.statements }).toEqual({ miss: 1, hit: 0 });
    expect(second.result).toEqual(first.result);
    expect(metricValue(await metrics(), "cache_loads_total", { cache: "model" })).toBe(loadsBefore + 1);
  });

  it("shows a new offer, an edit and an order on the very next read", async () => {
    const code = newModelCode();
    const shoe = await offer(sellerA, code, "270", { price: 200_000, stock: 10 });
    await page(t, code);
    const newcomer = await offer(sellerB, code, "275", { price: 210_000, stock: 2 });
    expect(sizeOf(await page(t, code), "275").offers[0].productId).toBe(newcomer.id);
    await t.patch(`/api/v1/products/${shoe.id}`, { version: 1, price: 190_000 }, sellerA);
    expect(sizeOf(await page(t, code), "270").lowestPrice).toBe(190_000);
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 3 }]);
    expect(sizeOf(await page(t, code), "270").stock).toBe(7);
    await t.put(`/api/v1/orders/${order.id}/cancel`, undefined, buyer);
    expect(sizeOf(await page(t, code), "270").stock).toBe(10);
  });

  it.skipIf(!hasRedis)("is fresh right after an order on either of two instances", async () => {
    const app = other as TestApp;
    const code = newModelCode();
    const a = await offer(sellerA, code, "270", { price: 200_000, stock: 5 });
    const b = await offer(sellerB, code, "270", { price: 195_000, stock: 1 });
    // Both instances have the page cached.
    expect(sizeOf(await page(t, code), "270")).toMatchObject({ stock: 6, lowestPrice: 195_000 });
    expect(sizeOf(await page(app, code), "270")).toMatchObject({ stock: 6, lowestPrice: 195_000 });
    // An order on the other instance takes seller B's last pair: that instance shows it at once, this one as
    // soon as the invalidation arrives (test/e2e/near-cache.test.ts holds that to 50 ms).
    const first = await placeOrder(app, buyer.token, buyer.user.id, [{ productId: b.id, quantity: 1 }]);
    expect(sizeOf(await page(app, code), "270")).toMatchObject({ stock: 5, lowestPrice: 200_000 });
    await waitFor("the order on this instance", async () => sizeOf(await page(t, code), "270").stock === 5);
    expect(sizeOf(await page(t, code), "270")).toMatchObject({ stock: 5, lowestPrice: 200_000 });
    // Paid through this instance, then an order of seller A's pairs placed here: the other shows each change.
    await payOrder(t, buyer, first.id);
    const offerOfB = async () => sizeOf(await page(app, code), "270").offers.find((o: any) => o.productId === b.id);
    await waitFor("the payment on the other instance", async () => (await offerOfB()).status === "SOLD");
    expect(await offerOfB()).toMatchObject({ status: "SOLD", onSale: false });
    await placeOrder(t, buyer.token, buyer.user.id, [{ productId: a.id, quantity: 2 }]);
    expect(sizeOf(await page(t, code), "270").stock).toBe(3);
    await waitFor(
      "the second order on the other instance",
      async () => sizeOf(await page(app, code), "270").stock === 3,
    );
  });
});

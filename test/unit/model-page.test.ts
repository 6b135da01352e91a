import { describe, expect, it } from "bun:test";
import { compareShoeSizes, modelVersion, toModelPage } from "../../src/domain/catalogue/model-page";
import type { Product } from "../../src/domain/catalogue/product";

let sequence = 0;
const product = (fields: Partial<Product>): Product => ({
  id: `00000000-0000-7000-8000-${String(++sequence).padStart(12, "0")}`,
  sellerId: "seller",
  name: "AJ1",
  description: null,
  brand: "Jordan",
  category: "basketball",
  price: 100_000,
  stock: 10,
  reservedStock: 0,
  soldQuantity: 0,
  awaitingReturn: 0,
  writtenOff: 0,
  lowStockThreshold: 5,
  modelCode: "DZ5485-612",
  shoeSize: "270",
  discontinuedAt: null,
  version: 1,
  createdAt: new Date("2026-01-01T00:00:00Z"),
  updatedAt: new Date("2026-01-01T00:00:00Z"),
  ...fields,
});

describe("shoe size order", () => {
  it("puts numeric sizes first, numerically, then the rest in natural order", () => {
    const sizes = ["US 10", "280", "95", "US 9", "265.5", "XL", "us 9.5", "2.5", "265"];
    expect(sizes.toSorted(compareShoeSizes)).toEqual([
      "2.5",
      "95",
      "265",
      "265.5",
      "280",
      "US 9",
      "us 9.5",
      "US 10",
      "XL",
    ]);
  });
});

describe("the model page", () => {
  it("is undefined when no offer is live", () => {
    expect(toModelPage([])).toBeUndefined();
    expect(toModelPage([product({ discontinuedAt: new Date() })])).toBeUndefined();
  });

  it("takes name, brand, category and code from the newest live offer", () => {
    const page = toModelPage([
      product({ name: "old", createdAt: new Date("2026-01-01T00:00:00Z") }),
      product({ name: "new", modelCode: "dz5485-612", createdAt: new Date("2026-02-01T00:00:00Z") }),
      product({ name: "gone", createdAt: new Date("2026-03-01T00:00:00Z"), discontinuedAt: new Date() }),
    ]);
    expect(page).toMatchObject({ name: "new", modelCode: "dz5485-612" });
  });

  it("has a null lowest price when no offer of the size is on sale, and sums stock over offers", () => {
    const page = toModelPage([
      product({ stock: 0, soldQuantity: 1, price: 50_000 }),
      product({ stock: 0, reservedStock: 2, price: 60_000 }),
    ]);
    expect(page?.sizes).toEqual([expect.objectContaining({ shoeSize: "270", lowestPrice: null, stock: 0 })]);
    expect(page?.sizes[0]?.offers.map((o) => o.status)).toEqual(["SOLD", "RESERVED"]);
  });

  it("is stamped with a version that grows with any change and any new offer", () => {
    const offers = [product({ version: 3 }), product({ version: 1, discontinuedAt: new Date() })];
    expect(modelVersion(offers)).toBe(4);
    expect(modelVersion([...offers, product({ version: 1 })])).toBe(5);
  });
});

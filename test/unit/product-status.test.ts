import { describe, expect, it } from "bun:test";
import { isOnSale, PRODUCT_STATUSES, productStatus, type StockCounts } from "../../src/domain/catalogue/product";
import { statusCases } from "../support/products";

describe("product status", () => {
  const table: [StockCounts, string][] = [
    [{ stock: 10, reservedStock: 0, soldQuantity: 0, lowStockThreshold: 5, discontinued: true }, "DISCONTINUED"],
    [{ stock: 0, reservedStock: 0, soldQuantity: 0, lowStockThreshold: 5, discontinued: true }, "DISCONTINUED"],
    [{ stock: 6, reservedStock: 0, soldQuantity: 0, lowStockThreshold: 5, discontinued: false }, "AVAILABLE"],
    [{ stock: 5, reservedStock: 0, soldQuantity: 0, lowStockThreshold: 5, discontinued: false }, "LOW_STOCK"],
    [{ stock: 1, reservedStock: 9, soldQuantity: 9, lowStockThreshold: 5, discontinued: false }, "LOW_STOCK"],
    [{ stock: 1, reservedStock: 0, soldQuantity: 0, lowStockThreshold: 0, discontinued: false }, "AVAILABLE"],
    [{ stock: 0, reservedStock: 3, soldQuantity: 2, lowStockThreshold: 5, discontinued: false }, "RESERVED"],
    [{ stock: 0, reservedStock: 0, soldQuantity: 2, lowStockThreshold: 5, discontinued: false }, "SOLD"],
    [{ stock: 0, reservedStock: 0, soldQuantity: 0, lowStockThreshold: 5, discontinued: false }, "OUT_OF_STOCK"],
    [{ stock: 0, reservedStock: 0, soldQuantity: 0, lowStockThreshold: 0, discontinued: false }, "OUT_OF_STOCK"],
  ];
  for (const [counts, expected] of table) {
    it(`is ${expected} for ${JSON.stringify(counts)}`, () => {
      expect(productStatus(counts)).toBe(expected as never);
    });
  }

  it("follows the contract's rule in order over every combination of counts", () => {
    for (const c of statusCases()) {
      const expected = c.discontinued
        ? "DISCONTINUED"
        : c.stock > c.lowStockThreshold
          ? "AVAILABLE"
          : c.stock > 0
            ? "LOW_STOCK"
            : c.reservedStock > 0
              ? "RESERVED"
              : c.soldQuantity > 0
                ? "SOLD"
                : "OUT_OF_STOCK";
      expect(productStatus(c)).toBe(expected);
    }
  });

  it("reaches every status", () => {
    expect(new Set(statusCases().map(productStatus))).toEqual(new Set(PRODUCT_STATUSES));
  });

  it("counts a product as on sale only while it is AVAILABLE or LOW_STOCK", () => {
    expect(PRODUCT_STATUSES.filter(isOnSale)).toEqual(["AVAILABLE", "LOW_STOCK"]);
  });
});

import { afterAll, describe, expect, it } from "bun:test";
import { createTestApp } from "../support/harness";

const t = await createTestApp();
afterAll(() => t.close());

describe("SKU uniqueness", () => {
  it("lets exactly one of 20 concurrent creates of one seller's (model, size) through, the rest 409 SKU_TAKEN", async () => {
    const seller = await t.registerUser("SELLER");
    const other = await t.registerUser("SELLER");
    const code = `SKU${crypto.randomUUID().slice(0, 8)}`;
    const create = (token: string, i: number) =>
      t.post(
        "/api/v1/products",
        {
          name: `Race ${i}`,
          brand: "Nike",
          category: "lifestyle",
          price: 100_000,
          stock: 1,
          // The code in mixed cases: it is one model however it is written.
          modelCode: i % 2 === 0 ? code.toUpperCase() : code.toLowerCase(),
          shoeSize: "270",
        },
        { token },
      );
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => create(seller.token, i)),
      ...Array.from({ length: 5 }, (_, i) => create(other.token, i)),
    ]);
    const mine = results.slice(0, 20);
    const theirs = results.slice(20);
    expect(mine.filter((r) => r.status === 201)).toHaveLength(1);
    expect(mine.filter((r) => r.status === 409 && r.body.code === "SKU_TAKEN")).toHaveLength(19);
    expect(theirs.filter((r) => r.status === 201)).toHaveLength(1);
    expect(theirs.filter((r) => r.body.code === "SKU_TAKEN")).toHaveLength(4);
    const listed = await t.get(`/api/v1/products?modelCode=${code}&size=100`);
    expect(listed.body.total).toBe(2);
  });
});

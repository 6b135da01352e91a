import { describe, expect, it } from "bun:test";
import { servedTestApp } from "../support/harness";
import { createProductVia } from "../support/products";

// Real sockets, so the edits truly race as separate requests and transactions.
const { t, base } = await servedTestApp();

describe("concurrent product edits", () => {
  it("lets exactly one of 20 parallel edits based on the same version win; the rest get 409", async () => {
    const seller = await t.registerUser("SELLER");
    const product = await createProductVia(t, seller.token, { price: 100_000 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${base}/api/v1/products/${product.id}`, {
          method: "PATCH",
          headers: { Authorization: `Bearer ${seller.token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ version: 1, price: 100_000 + i }),
        }),
      ),
    );
    const statuses = responses.map((res) => res.status).sort();
    expect(statuses).toEqual([200, ...Array(19).fill(409)]);
    const winner = (await responses.find((res) => res.status === 200)!.json()) as { price: number };
    const after = (await (await fetch(`${base}/api/v1/products/${product.id}`)).json()) as any;
    expect(after).toMatchObject({ version: 2, price: winner.price });
  });

  it("reserves exactly the stock there is when 200 parallel reservations race, and the detail shows it", async () => {
    const seller = await t.registerUser("SELLER");
    const product = await createProductVia(t, seller.token, { stock: 50 });
    const { stock } = t.container.services;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, () => stock.reserve([{ productId: product.id, quantity: 1 }])),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(50);
    const refusals = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(new Set(refusals.map((r) => r.reason.code))).toEqual(new Set(["INSUFFICIENT_STOCK"]));
    const after = (await (await fetch(`${base}/api/v1/products/${product.id}`)).json()) as any;
    expect(after).toMatchObject({ stock: 0, reservedStock: 50, status: "RESERVED" });
  });
});

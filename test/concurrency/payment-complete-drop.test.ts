import { describe, expect, it } from "bun:test";
import { checkInvariants } from "../../src/infra/db/invariants";
import { servedTestApp } from "../support/harness";
import { createProductVia } from "../support/products";
import { cheapBuyers } from "../support/users";

// A drop: many completions (each one statement sent on its own) of orders sharing hot products, lines given in
// either order, racing partial refunds and cancels of the same products on the same Seoul day (rollup rows).
const { t, base } = await servedTestApp();
const seller = await t.registerUser("SELLER");

async function call(method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe("a drop's completions, one statement each", () => {
  it("sell every unit once, with every order counted once, while refunds and cancels of the same products race", async () => {
    const hot = await createProductVia(t, seller.token, { price: 10_000, stock: 200, category: "running" });
    const warm = await createProductVia(t, seller.token, { price: 20_000, stock: 200, category: "skate" });
    const buyers = await cheapBuyers(t.container.database, t.container.services.tokens, 24);
    for (const buyer of buyers) {
      await call("POST", "/api/v1/balances/charge", buyer.token, { userId: buyer.id, amount: 1_000_000 });
    }
    const itemsOf = (i: number) =>
      i % 3 === 0
        ? [{ productId: hot.id, quantity: 1 }]
        : i % 3 === 1
          ? [
              { productId: warm.id, quantity: 1 },
              { productId: hot.id, quantity: 2 },
            ]
          : [
              { productId: hot.id, quantity: 1 },
              { productId: warm.id, quantity: 2 },
            ];
    // Eight orders paid first: refunded (partly or fully) and cancelled while the others pay.
    const orders: { id: string; buyer: (typeof buyers)[number] }[] = [];
    for (const [i, buyer] of buyers.entries()) {
      const res = await call("POST", "/api/v1/orders", buyer.token, { userId: buyer.id, items: itemsOf(i) });
      expect(res.status).toBe(201);
      orders.push({ id: res.body.id, buyer });
    }
    const early = orders.slice(0, 8);
    for (const o of early) {
      expect((await call("POST", "/api/v1/payments/process", o.buyer.token, { orderId: o.id })).status).toBe(200);
    }
    const late = orders.slice(8);
    const results = await Promise.all([
      ...late.map((o) =>
        call("POST", "/api/v1/payments/process", o.buyer.token, { orderId: o.id }, { "Idempotency-Key": o.id }),
      ),
      ...early.map((o, i) =>
        i % 2 === 0
          ? call("POST", `/api/v1/orders/${o.id}/cancel`, o.buyer.token, {})
          : call("POST", "/api/v1/refunds", o.buyer.token, { orderId: o.id, amount: 1_000 }),
      ),
    ]);
    const failures = results.filter((r) => r.status >= 500);
    expect(failures).toEqual([]);
    for (const r of results.slice(0, late.length)) expect(r.body.status).toBe("COMPLETED");
    // Other files' tests share the database (some break their own products' books on purpose): these products.
    expect(await checkInvariants(t.container.database.db, { productIds: [hot.id, warm.id] })).toEqual([]);
  }, 120_000);
});

import { describe, expect, it } from "bun:test";
import { servedTestApp } from "../support/harness";
import { invariantViolations } from "../support/orders";
import { createProductVia } from "../support/products";
import { cheapBuyers } from "../support/users";

// The checkout takes its products' row locks last (the reservation is an order's last statement; a payment sells
// its units after appending its event and before writing the sales rollup), while cancels and refunds lock the
// products before the rollup too. Everything that touches one product's row, its rollup rows and the order rows
// at once, over real sockets: no deadlock (a 5xx), and the books balance.
const { t, base } = await servedTestApp();
const seller = await t.registerUser("SELLER");

function send(method: string, path: string, token: string, body?: unknown) {
  return fetch(`${base}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      "Idempotency-Key": crypto.randomUUID(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe("checkouts, cancels and refunds of the same products at once", () => {
  it("never deadlock, and leave the stock, the money and the sales rollup in balance", async () => {
    const [hot, other] = [
      await createProductVia(t, seller.token, { stock: 1000, price: 10_000 }),
      await createProductVia(t, seller.token, { stock: 1000, price: 20_000 }),
    ];
    const buyers = await cheapBuyers(t.container.database, t.container.services.tokens, 90);
    for (const buyer of buyers) {
      const charged = await send("POST", "/api/v1/balances/charge", buyer.token, { userId: buyer.id, amount: 100_000 });
      expect(charged.status).toBe(200);
    }
    // Lines in both orders, so two products' rows and rollup rows are taken by every transaction.
    const lines = (i: number) => {
      const both = [
        { productId: hot.id, quantity: 1 },
        { productId: other.id, quantity: 1 },
      ];
      return i % 2 ? both : both.reverse();
    };
    const place = async (buyer: (typeof buyers)[number], i: number) => {
      const res = await send("POST", "/api/v1/orders", buyer.token, { userId: buyer.id, items: lines(i) });
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    };
    const pay = async (buyer: (typeof buyers)[number], orderId: string) =>
      (await send("POST", "/api/v1/payments/process", buyer.token, { orderId })).status;

    const paid = buyers.slice(0, 30);
    const unpaid = buyers.slice(30, 60);
    const fresh = buyers.slice(60);
    const paidOrders = await Promise.all(paid.map((buyer, i) => place(buyer, i)));
    expect(await Promise.all(paid.map((buyer, i) => pay(buyer, paidOrders[i] as string)))).toEqual(Array(30).fill(200));
    const unpaidOrders = await Promise.all(unpaid.map((buyer, i) => place(buyer, i)));

    const [checkouts, refunds, cancels] = await Promise.all([
      Promise.all(fresh.map(async (buyer, i) => pay(buyer, await place(buyer, i)))),
      Promise.all(
        paid.map(async (buyer, i) => (await send("PUT", `/api/v1/orders/${paidOrders[i]}/cancel`, buyer.token)).status),
      ),
      Promise.all(
        unpaid.map(
          async (buyer, i) => (await send("PUT", `/api/v1/orders/${unpaidOrders[i]}/cancel`, buyer.token)).status,
        ),
      ),
    ]);
    expect(checkouts).toEqual(Array(30).fill(200));
    expect(refunds.every((status) => status === 200 || status === 202)).toBe(true);
    expect(cancels).toEqual(Array(30).fill(200));
    expect(await invariantViolations(t, [hot.id, other.id])).toEqual([]);
  });
});

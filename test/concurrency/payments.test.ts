import { describe, expect, it } from "bun:test";
import { servedTestApp } from "../support/harness";
import { invariantViolations, payOrder } from "../support/orders";
import { createProductVia } from "../support/products";
import { cheapBuyers } from "../support/users";

// Real sockets: every payment, cancel and refund is its own request, connection and transaction.
const { t, base } = await servedTestApp();
const seller = await t.registerUser("SELLER");

async function call(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

async function buyerWith(balance: number) {
  const [buyer] = await cheapBuyers(t.container.database, t.container.services.tokens, 1);
  if (balance > 0) await call("POST", "/api/v1/balances/charge", buyer!.token, { userId: buyer!.id, amount: balance });
  return buyer!;
}
const order = async (buyer: { id: string; token: string }, productId: string, quantity = 1) =>
  (await call("POST", "/api/v1/orders", buyer.token, { userId: buyer.id, items: [{ productId, quantity }] })).body;
const ledgerOf = async (buyer: { id: string; token: string }) =>
  (await call("GET", `/api/v1/balances/${buyer.id}/transactions?size=100`, buyer.token)).body.items as {
    type: string;
  }[];

describe("concurrent payments", () => {
  it("debits once when 20 payments of one order race; the others are refused", async () => {
    const buyer = await buyerWith(100_000);
    const shoe = await createProductVia(t, seller.token, { price: 30_000 });
    const placed = await order(buyer, shoe.id);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => call("POST", "/api/v1/payments/process", buyer.token, { orderId: placed.id })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    // Refused while the winner is in flight, or once it completed.
    for (const refused of results.filter((r) => r.status !== 200)) {
      expect(refused.status).toBe(409);
      expect(["PAYMENT_IN_PROGRESS", "ORDER_NOT_PAYABLE"]).toContain(refused.body.code);
    }
    expect((await ledgerOf(buyer)).filter((e) => e.type === "PAYMENT")).toHaveLength(1);
    expect((await call("GET", `/api/v1/balances/${buyer.id}`, buyer.token)).body.balance).toBe(70_000);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("completes exactly as many of 20 parallel payments as the balance covers, never going below zero", async () => {
    const buyer = await buyerWith(100_000);
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 50 });
    const orders = [];
    for (let i = 0; i < 20; i++) orders.push(await order(buyer, shoe.id));
    const results = await Promise.all(
      orders.map((o) => call("POST", "/api/v1/payments/process", buyer.token, { orderId: o.id })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.status === 402).map((r) => r.body.code)).toEqual(
      Array(10).fill("INSUFFICIENT_BALANCE"),
    );
    expect((await call("GET", `/api/v1/balances/${buyer.id}`, buyer.token)).body.balance).toBe(0);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("ends a cancel racing a payment as paid or cancelled, never both", async () => {
    const shoe = await createProductVia(t, seller.token, { price: 5_000, stock: 200 });
    for (let round = 0; round < 20; round++) {
      const buyer = await buyerWith(5_000);
      const placed = await order(buyer, shoe.id);
      const [paid, cancelled] = await Promise.all([
        call("POST", "/api/v1/payments/process", buyer.token, { orderId: placed.id }),
        call("PUT", `/api/v1/orders/${placed.id}/cancel`, buyer.token),
      ]);
      const final = (await call("GET", `/api/v1/orders/${placed.id}`, buyer.token)).body;
      const balance = (await call("GET", `/api/v1/balances/${buyer.id}`, buyer.token)).body.balance;
      // Paid and kept, or cancelled (before payment, or refunded after it) with the money back.
      if (final.status === "CONFIRMED") {
        expect(paid.status).toBe(200);
        expect(balance).toBe(0);
      } else {
        expect(final.status).toBe("CANCELLED");
        expect(balance).toBe(5_000);
      }
      // The cancel lost only to a payment that held the order, or refunded a completed one.
      if (cancelled.status === 409) expect(paid.status).toBe(200);
    }
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("credits a full refund once when five race", async () => {
    const [buyer] = await cheapBuyers(t.container.database, t.container.services.tokens, 1);
    const shoe = await createProductVia(t, seller.token, { price: 45_000 });
    const placed = await order(buyer!, shoe.id);
    await payOrder(t, { user: { id: buyer!.id }, token: buyer!.token }, placed.id);
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        call("POST", "/api/v1/refunds", buyer!.token, { orderId: placed.id, reason: "changed my mind" }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    // The others find nothing left (the amount held by the refund in progress, or, when it landed first, as
    // on the one connection of the embedded database, the order already cancelled by it): 409 either way.
    for (const refused of results.filter((r) => r.status !== 201)) {
      expect([refused.status, refused.body.code]).toEqual([409, "ORDER_NOT_REFUNDABLE"]);
    }
    expect((await ledgerOf(buyer!)).filter((e) => e.type === "REFUND")).toHaveLength(1);
    expect((await call("GET", `/api/v1/balances/${buyer!.id}`, buyer!.token)).body.balance).toBe(45_000);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });
});

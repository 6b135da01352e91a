import { describe, expect, it } from "bun:test";
import { inArray } from "drizzle-orm";
import { idempotencyKeys } from "../../src/infra/db/schema";
import { servedTestApp } from "../support/harness";
import { invariantViolations } from "../support/orders";
import { createProductVia } from "../support/products";
import { cheapBuyers } from "../support/users";

// Real sockets: every order is its own request, connection and transaction.
const { t, base } = await servedTestApp();
const seller = await t.registerUser("SELLER");

function post(path: string, token: string, body?: unknown, key?: string) {
  return fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      ...(key === undefined ? {} : { "Idempotency-Key": key }),
    },
    body: JSON.stringify(body),
  });
}

const detail = async (id: string) => (await (await fetch(`${base}/api/v1/products/${id}`)).json()) as any;

describe("concurrent orders", () => {
  it("sells a 50-unit drop to exactly 50 of 500 buyers racing for it, never below zero", async () => {
    const drop = await createProductVia(t, seller.token, { stock: 50, price: 219_000 });
    const buyers = await cheapBuyers(t.container.database, t.container.services.tokens, 500);
    const responses = await Promise.all(
      buyers.map((buyer) =>
        post("/api/v1/orders", buyer.token, { userId: buyer.id, items: [{ productId: drop.id, quantity: 1 }] }),
      ),
    );
    const statuses = responses.map((res) => res.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(50);
    expect(statuses.filter((s) => s === 400)).toHaveLength(450);
    const refusals = await Promise.all(responses.filter((r) => r.status === 400).map((r) => r.json() as Promise<any>));
    expect(new Set(refusals.map((p) => p.code))).toEqual(new Set(["INSUFFICIENT_STOCK"]));
    expect(await detail(drop.id)).toMatchObject({ stock: 0, reservedStock: 50, status: "RESERVED" });
    expect(await invariantViolations(t, [drop.id])).toEqual([]);
  });

  // Each buyer's key is looked up by its order's products read (its first statement): two requests with one key at
  // once place one order at most, whatever the interleaving, and a refused order keeps no key.
  it("sells a 20-unit drop to 20 of 100 buyers each sending its keyed order twice at once: one order per key", async () => {
    const drop = await createProductVia(t, seller.token, { stock: 20, price: 219_000 });
    const buyers = await cheapBuyers(t.container.database, t.container.services.tokens, 100);
    const keys = buyers.map(() => crypto.randomUUID());
    const order = (i: number) => {
      const buyer = buyers[i] as (typeof buyers)[number];
      return post(
        "/api/v1/orders",
        buyer.token,
        { userId: buyer.id, items: [{ productId: drop.id, quantity: 1 }] },
        keys[i],
      );
    };
    const pairs = await Promise.all(buyers.map((_, i) => Promise.all([order(i), order(i)])));
    const placed = new Set<string>();
    for (const pair of pairs) {
      const bodies = await Promise.all(pair.map((res) => res.json() as Promise<any>));
      const fresh = pair.filter((res) => res.status === 201 && res.headers.get("Idempotent-Replayed") === null);
      expect(fresh.length).toBeLessThanOrEqual(1);
      for (const [i, res] of pair.entries()) {
        // 201 (placed, or its replay), 409 (the other request held the key), 400 (sold out: decided again).
        expect([201, 400, 409]).toContain(res.status);
        if (res.status === 201) placed.add(bodies[i].id);
        if (res.status === 400) expect(bodies[i].code).toBe("INSUFFICIENT_STOCK");
      }
      const ids = bodies.filter((_, i) => pair[i]?.status === 201).map((body) => body.id);
      expect(new Set(ids).size).toBeLessThanOrEqual(1);
    }
    expect(placed.size).toBe(20);
    expect(await detail(drop.id)).toMatchObject({ stock: 0, reservedStock: 20 });
    // Only the placed orders' keys are kept; each replays its order, the refused ones are decided again.
    const kept = await t.container.database.db.select().from(idempotencyKeys).where(inArray(idempotencyKeys.key, keys));
    expect(kept).toHaveLength(20);
    const retried = await Promise.all(buyers.map((_, i) => order(i)));
    const replayed = retried.filter((res) => res.headers.get("Idempotent-Replayed") === "true");
    expect(replayed).toHaveLength(20);
    expect(new Set(await Promise.all(replayed.map(async (res) => ((await res.json()) as any).id)))).toEqual(placed);
    expect(retried.filter((res) => res.status === 400)).toHaveLength(80);
    expect(await invariantViolations(t, [drop.id])).toEqual([]);
  });

  it("never deadlocks two multi-line orders that lock the same products in opposite line order", async () => {
    const [a, b, c] = [
      await createProductVia(t, seller.token, { stock: 1000 }),
      await createProductVia(t, seller.token, { stock: 1000 }),
      await createProductVia(t, seller.token, { stock: 1000 }),
    ];
    const buyers = await cheapBuyers(t.container.database, t.container.services.tokens, 100);
    const responses = await Promise.all(
      buyers.map((buyer, i) => {
        const lines = [
          { productId: a.id, quantity: 1 },
          { productId: b.id, quantity: 2 },
          { productId: c.id, quantity: 1 },
        ];
        return post("/api/v1/orders", buyer.token, { userId: buyer.id, items: i % 2 ? lines : lines.reverse() });
      }),
    );
    const statuses = responses.map((res) => res.status);
    expect(statuses).toEqual(Array(100).fill(201));
    expect((await detail(b.id)).reservedStock).toBe(200);
    expect(await invariantViolations(t, [a.id, b.id, c.id])).toEqual([]);
  });

  it("cancels once when five cancels of one order race, returning the stock once", async () => {
    const shoe = await createProductVia(t, seller.token, { stock: 10 });
    const [buyer] = await cheapBuyers(t.container.database, t.container.services.tokens, 1);
    const placed = await post("/api/v1/orders", buyer!.token, {
      userId: buyer!.id,
      items: [{ productId: shoe.id, quantity: 4 }],
    });
    const order = (await placed.json()) as { id: string };
    const cancels = await Promise.all(
      Array.from({ length: 5 }, () =>
        fetch(`${base}/api/v1/orders/${order.id}/cancel`, {
          method: "PUT",
          headers: { Authorization: `Bearer ${buyer!.token}` },
        }),
      ),
    );
    expect(cancels.map((res) => res.status).sort()).toEqual([200, 409, 409, 409, 409]);
    expect(await detail(shoe.id)).toMatchObject({ stock: 10, reservedStock: 0 });
    const events = await t.container.database.db.query.orderEvents.findMany({
      where: (e, { eq }) => eq(e.aggregateId, order.id),
      orderBy: (e, { asc }) => asc(e.seq),
    });
    expect(events.map((e) => e.type).sort()).toEqual(["ORDER_CANCELLED", "ORDER_CREATED"]);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });
});

import { afterAll, describe, expect, it } from "bun:test";
import { createTestApp } from "../support/harness";
import { createProductVia } from "../support/products";

// Requests a security review answered with 500 (issue 17, item 10), and wrong methods that a parameterised
// route used to swallow with a 400 (item 11). Each answer is the contract's 4xx, never a 5xx.
const t = await createTestApp();
afterAll(() => t.close());

const seller = await t.registerUser("SELLER");
const admin = await t.registerUser("ADMIN");

describe("an admin's order for a user who does not exist", () => {
  it("is 404 USER_NOT_FOUND, and reserves nothing", async () => {
    const product = await createProductVia(t, seller.token, { stock: 5 });
    const res = await t.post(
      "/api/v1/orders",
      { userId: crypto.randomUUID(), items: [{ productId: product.id, quantity: 2 }] },
      { token: admin.token },
    );
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("USER_NOT_FOUND");
    const after = (await t.get(`/api/v1/products/${product.id}`)).body;
    expect(after).toMatchObject({ stock: 5, reservedStock: 0 });
  });
});

describe("malformed product ids in an admin's edit and discontinue", () => {
  const malformed = [
    ["a non-UUID", "not-a-uuid"],
    ["a 100-character id", "a".repeat(100)],
    ["a long id", "a".repeat(5000)],
    ["a percent-encoded id", "%2e%2e%2fusers"],
    ["an encoded UUID with a NUL", `${crypto.randomUUID()}%00`],
    ["an id of spaces and quotes", "%20%27%22%3B"],
    ["a UUID with trailing junk", `${crypto.randomUUID()}x`],
  ] as const;
  for (const [what, id] of malformed) {
    it(`answers ${what} with 400 or 404, never 500`, async () => {
      const edit = await t.patch(`/api/v1/products/${id}`, { version: 1, price: 1000 }, { token: admin.token });
      const discontinue = await t.post(`/api/v1/products/${id}/discontinue`, undefined, { token: admin.token });
      const read = await t.get(`/api/v1/products/${id}`);
      for (const res of [edit, discontinue, read]) {
        expect([400, 404]).toContain(res.status);
        expect(res.headers.get("content-type")).toContain("application/problem+json");
      }
    });
  }

  it("answers an unknown well-formed id with 404 PRODUCT_NOT_FOUND", async () => {
    const id = crypto.randomUUID();
    const edit = await t.patch(`/api/v1/products/${id}`, { version: 1, price: 1000 }, { token: admin.token });
    expect(edit.body.code).toBe("PRODUCT_NOT_FOUND");
    expect((await t.post(`/api/v1/products/${id}/discontinue`, undefined, { token: admin.token })).body.code).toBe(
      "PRODUCT_NOT_FOUND",
    );
  });
});

describe("statistics days outside the contract's range (found by the fuzz suite: 500)", () => {
  for (const query of ["from=0000-01-01", "from=0000-01-01&to=0000-12-31&groupBy=week", "to=2101-01-01"]) {
    it(`answers ${query} with 400 VALIDATION_FAILED`, async () => {
      const res = await t.get(`/api/v1/stats/sales?${query}`, { token: admin.token });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    });
  }
});

describe("a wrong method on a path that a parameterised route would otherwise match", () => {
  const cases = [
    ["GET", "/api/v1/payments/process", "POST"],
    ["GET", "/api/v1/payments/confirm", "POST"],
    ["GET", "/api/v1/coupons/issue", "POST"],
    ["GET", "/api/v1/coupons/issue/limited", "POST"],
    ["DELETE", "/api/v1/products/popular", "GET"],
    ["PUT", "/api/v1/users/me", "GET, PATCH"],
  ] as const;
  for (const [method, path, allow] of cases) {
    it(`answers ${method} ${path} with 405 and Allow: ${allow}`, async () => {
      const res = await t.request(method, path, undefined, { token: admin.token });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe(allow);
      expect(res.body.code).toBe("METHOD_NOT_ALLOWED");
    });
  }

  it("still serves the parameterised route for a real id", async () => {
    const res = await t.get(`/api/v1/payments/${crypto.randomUUID()}`, { token: admin.token });
    expect(res.body.code).toBe("PAYMENT_NOT_FOUND");
  });
});

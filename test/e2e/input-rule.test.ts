import { afterAll, describe, expect, it } from "bun:test";
import { createTestApp } from "../support/harness";
import { fillPath, objectSchemas, operationsOf } from "../support/openapi-operations";

// One input rule for every route (contract, Conventions): unknown body fields and unknown query parameters are
// refused with 400 VALIDATION_FAILED naming each, and the OpenAPI document says so. Checked over every
// operation of the served document, so a route added later is held to it without editing this file.
const t = await createTestApp();
afterAll(() => t.close());

const document = (await t.get("/openapi.json")).body;
const operations = operationsOf(document);
const admin = await t.registerUser("ADMIN");
const idFor = (param: string) => (param === "table" ? "order" : crypto.randomUUID());

describe("the input rule", () => {
  it("refuses an unknown query parameter on every operation, naming it", async () => {
    const wrong: string[] = [];
    for (const op of operations) {
      const path = `${fillPath(op.path, idFor)}?zzUnknown=1`;
      const res = await t.request(op.method, path, op.body ? {} : undefined, { token: admin.token });
      const named = res.body?.errors?.some((e: { path: string }) => e.path === "query.zzUnknown");
      if (res.status !== 400 || res.body?.code !== "VALIDATION_FAILED" || !named) {
        wrong.push(`${op.name}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("refuses an unknown body field on every operation that takes a body, naming it", async () => {
    const wrong: string[] = [];
    for (const op of operations.filter((o) => o.body)) {
      const res = await t.request(op.method, fillPath(op.path, idFor), { zzUnknown: 1 }, { token: admin.token });
      const named = res.body?.errors?.some((e: { path: string }) => e.path === "zzUnknown");
      if (res.status !== 400 || !named) wrong.push(`${op.name}: ${res.status} ${JSON.stringify(res.body?.errors)}`);
    }
    expect(wrong).toEqual([]);
  });

  it("refuses an unknown field inside a nested object (an order line)", async () => {
    const res = await t.post(
      "/api/v1/orders",
      { userId: admin.user.id, items: [{ productId: crypto.randomUUID(), quantity: 1, price: 1 }] },
      { token: admin.token },
    );
    expect(res.status).toBe(400);
    expect(res.body.errors).toContainEqual({ path: "items.0.price", message: "is not a field of this request" });
  });

  it("names each of several unknown parameters", async () => {
    const res = await t.get("/api/v1/products?sizee=5&pag=2&size=3");
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["query.pag", "query.sizee"]);
  });

  it("states additionalProperties: false on every object of every request body", () => {
    const open = operations.flatMap((op) =>
      op.body
        ? objectSchemas(document, op.body)
            .filter(([, schema]) => schema.additionalProperties !== false)
            .map(([at]) => `${op.name} ${at}`)
        : [],
    );
    expect(open).toEqual([]);
  });

  it("documents the 400 VALIDATION_FAILED of unknown input on every operation, and says so in the document", () => {
    const undocumented = operations
      .filter((op) => !String(op.operation.responses["400"]?.description ?? "").includes("VALIDATION_FAILED"))
      .map((op) => op.name);
    expect(undocumented).toEqual([]);
    expect(document.info.description).toContain("Unknown query parameters and unknown body fields");
  });
});

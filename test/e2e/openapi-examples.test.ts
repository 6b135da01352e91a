import { afterAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import type { z } from "@hono/zod-openapi";
import { createTestApp } from "../support/harness";

// /docs shows an example request and answer for every operation, assembled the way Scalar (and most generators)
// do: a schema's own `example`, else one object made of its properties' examples, else a placeholder by type. A
// reader copies them, so they must be true: each request example is accepted by the route's own schema, and each
// answer example is one the route's schema allows. Cheap contract rules a schema cannot state are checked too.
const root = join(import.meta.dir, "../..");
const t = await createTestApp();
afterAll(() => t.close());
const document = (await t.get("/openapi.json")).body as Record<string, any>;

type JsonSchema = Record<string, any>;

function resolve(schema: JsonSchema): JsonSchema {
  if (!schema.$ref) return schema;
  const name = String(schema.$ref).split("/").at(-1) as string;
  return resolve(document.components.schemas[name]);
}

const PLACEHOLDER_BY_FORMAT: Record<string, unknown> = {
  "date-time": "2026-11-25T10:00:00.000Z",
  date: "2026-11-25",
  uuid: "0193a5b2-7c4e-7d3a-9f10-2b3c4d5e6f70",
  email: "kim@example.com",
  uri: "https://example.com",
};

/** The example a reader of /docs sees for `schema`. */
function exampleOf(input: JsonSchema, depth = 0): unknown {
  // OpenAPI 3.1 lets a $ref carry its own example (a shared enum with a use's own example): that one wins.
  const schema = input.example !== undefined ? input : resolve(input);
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.const !== undefined) return schema.const;
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  for (const key of ["anyOf", "oneOf"] as const) {
    if (Array.isArray(schema[key])) {
      const options = schema[key].filter((option: JsonSchema) => resolve(option).type !== "null");
      return exampleOf(options[0] ?? schema[key][0], depth + 1);
    }
  }
  if (Array.isArray(schema.allOf)) {
    // A use of a shared schema with its own description and example: `allOf: [{ $ref }, { example }]`.
    const own = schema.allOf.findLast((part: JsonSchema) => part.example !== undefined);
    if (own) return own.example;
    const parts = schema.allOf.map((part: JsonSchema) => exampleOf(part, depth + 1));
    return parts.every((part: unknown) => part && typeof part === "object" && !Array.isArray(part))
      ? Object.assign({}, ...parts)
      : parts[0];
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== "null") : schema.type;
  switch (type) {
    case "object": {
      if (depth > 8) return {};
      return Object.fromEntries(
        Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>).map(([name, property]) => [
          name,
          exampleOf(property, depth + 1),
        ]),
      );
    }
    case "array":
      return schema.items ? [exampleOf(schema.items, depth + 1)] : [];
    case "integer":
    case "number":
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return PLACEHOLDER_BY_FORMAT[schema.format] ?? "string";
  }
}

// The routes as written (createRoute objects exported by src/routes/**/*.routes.ts), by operationId.
const routes = new Map<string, Record<string, any>>();
for (const file of new Bun.Glob("src/routes/**/*.routes.ts").scanSync({ cwd: root })) {
  for (const value of Object.values(await import(join(root, file)))) {
    if (value && typeof value === "object" && "operationId" in value && "responses" in value) {
      routes.set(String(value.operationId), value as Record<string, any>);
    }
  }
}

interface Example {
  where: string;
  operationId: string;
  example: unknown;
  schema: z.ZodType;
}

const requestExamples: Example[] = [];
const answerExamples: Example[] = [];
for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
  for (const [method, operation] of Object.entries(item)) {
    const route = routes.get(operation.operationId);
    if (!route) continue;
    const body = operation.requestBody?.content?.["application/json"]?.schema;
    const bodySchema = route.request?.body?.content?.["application/json"]?.schema;
    if (body && bodySchema) {
      requestExamples.push({
        where: `${method.toUpperCase()} ${path} request`,
        operationId: operation.operationId,
        example: exampleOf(body),
        schema: bodySchema,
      });
    }
    for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
      const answer = response.content?.["application/json"]?.schema;
      const answerSchema = route.responses?.[status]?.content?.["application/json"]?.schema;
      if (answer && answerSchema) {
        answerExamples.push({
          where: `${method.toUpperCase()} ${path} ${status}`,
          operationId: operation.operationId,
          example: exampleOf(answer),
          schema: answerSchema,
        });
      }
    }
  }
}

const failures = (examples: Example[]) =>
  examples.flatMap(({ where, example, schema }) => {
    const parsed = schema.safeParse(example);
    return parsed.success
      ? []
      : [`${where}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"} ${i.message}`).join("; ")}`];
  });

describe("the examples in the OpenAPI document", () => {
  it("are found for the operations that take or answer JSON", () => {
    expect(requestExamples.length).toBeGreaterThanOrEqual(15);
    expect(answerExamples.length).toBeGreaterThanOrEqual(40);
  });

  it("of every request body are accepted by the route's own schema", () => {
    expect(failures(requestExamples)).toEqual([]);
  });

  it("of every JSON answer are allowed by the route's own schema", () => {
    expect(failures(answerExamples)).toEqual([]);
  });

  it("show a sign-up as the contract allows it: a buyer or a seller, never an admin with an adminCode", () => {
    const signUps = [...requestExamples, ...answerExamples].filter((e) => e.operationId === "signUp");
    expect(signUps.length).toBeGreaterThan(0);
    for (const { where, example } of signUps) {
      const user = example as Record<string, unknown>;
      expect({ where, role: user.role }).not.toEqual({ where, role: "ADMIN" });
      expect({ where, adminCode: user.adminCode }).toEqual({ where, adminCode: undefined });
    }
  });

  it("of signing up are a request the server accepts, whose password then logs in as the introduction says", async () => {
    const example = requestExamples.find((e) => e.operationId === "signUp")?.example as Record<string, string>;
    // Its own address: the example's may be taken by another run of this file in the same database.
    const email = `example-${Bun.randomUUIDv7()}@example.com`;
    const signUp = await t.post("/api/v1/auth/signup", { ...example, email });
    expect(signUp.status).toBe(201);
    const login = await t.post("/api/v1/auth/login", { email, password: example.password });
    expect(login.status).toBe(200);
    expect(login.body.tokenType).toBe("Bearer");
    const introduction = String(document.info.description);
    expect(introduction).toContain("/api/v1/auth/login");
    expect(introduction).toContain("Authorization: Bearer <accessToken>");
  });
});

/** The operations of a served OpenAPI document, for suites that must cover every route (matrix, fuzz, input rule). */
export interface Operation {
  method: string;
  path: string;
  /** "POST /api/v1/orders" */
  name: string;
  operationId: string;
  operation: Record<string, any>;
  /** Path parameter names in order. */
  params: string[];
  /** The resolved JSON body schema, when the operation takes one. */
  body?: Record<string, any>;
  /** Statuses the operation documents. */
  statuses: Set<number>;
}

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "patch"]);

export function operationsOf(document: any): Operation[] {
  const resolve = (schema: any): any =>
    schema?.$ref ? resolve(document.components.schemas[schema.$ref.split("/").at(-1)]) : schema;
  return Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.has(method))
      .map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        name: `${method.toUpperCase()} ${path}`,
        operationId: operation.operationId,
        operation,
        params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string),
        body: resolve(operation.requestBody?.content?.["application/json"]?.schema),
        statuses: new Set(Object.keys(operation.responses).map(Number)),
      })),
  );
}

/** `path` with its `{param}`s filled in by `fill`. */
export const fillPath = (path: string, fill: (param: string) => string) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(fill(name)));

/** Every object schema reachable from `schema` (through $ref, properties, items, unions), with its path. */
export function objectSchemas(document: any, schema: any, at = "body", seen = new Set<any>()): [string, any][] {
  if (!schema || typeof schema !== "object" || seen.has(schema)) return [];
  seen.add(schema);
  if (schema.$ref) {
    return objectSchemas(document, document.components.schemas[schema.$ref.split("/").at(-1)], at, seen);
  }
  const found: [string, any][] = schema.type === "object" || schema.properties ? [[at, schema]] : [];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    found.push(...objectSchemas(document, property, `${at}.${name}`, seen));
  }
  if (schema.items) found.push(...objectSchemas(document, schema.items, `${at}[]`, seen));
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    for (const member of schema[key] ?? []) found.push(...objectSchemas(document, member, at, seen));
  }
  return found;
}

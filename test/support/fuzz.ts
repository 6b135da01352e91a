import { type SeededRandom, seededRandom } from "../../src/domain/shared/seeded-random";

/**
 * Generators for the fuzz suite: a seeded PRNG (so a failure replays from its seed) and values that are
 * mostly what an operation's schema asks for, with hostile ones mixed in where it hurts most.
 */

/** The fuzz run's PRNG: the same seed replays the same cases. */
export const prng = seededRandom;
export type Random = SeededRandom;

const deep = (depth: number, leaf: unknown): unknown => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
  return value;
};

/** Strings that have broken parsers, databases, scripts and logs somewhere. */
export const HOSTILE_STRINGS = [
  "",
  " ",
  "0",
  "-1",
  "1e309",
  "NaN",
  "null",
  "undefined",
  "true",
  "' OR '1'='1' --",
  "'; DROP TABLE users; --",
  "\\x00",
  "\u0000",
  "a\u0000b",
  "\u202egnp.exe",
  "\ud83d\ude00\u200d\ud83d\udd25",
  "\ud800",
  "é".normalize("NFD"),
  "Ｈｅｌｌｏ",
  "redis.call('FLUSHALL')",
  "return redis.call('KEYS', '*')",
  "{{7*7}}",
  "$" + "{7*7}",
  "<script>alert(1)</script>",
  "../../../../etc/passwd",
  "%00%2e%2e%2f",
  "%",
  "\r\nX-Injected: 1",
  "9999-12-31",
  "0000-01-01",
  "+010000-01-01",
  "2026-02-30",
  "2026-13-45T25:61:61Z",
  "1970-01-01T00:00:00.000Z",
  "275760-09-13T00:00:00.000Z",
  "01936b2c-7f00-7c3a-9d2e-5b1f0a4e8c11",
  "00000000-0000-0000-0000-000000000000",
  "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
  "x".repeat(256),
  "x".repeat(10_000),
  "ä".repeat(5000),
  "__proto__",
  "constructor",
  "DROP-JORDAN1-2026",
  "124-81-00998",
  "a@b.c",
  `${"a".repeat(64)}@${"b".repeat(250)}.com`,
];

export const HOSTILE_NUMBERS = [
  0,
  -1,
  1,
  -0,
  0.5,
  1.5,
  -1e-300,
  99,
  100,
  101,
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  1e308,
  -1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1_000_000_000,
  1_000_000_001,
  10_000_000,
  10_000_001,
];

/** A value of any JSON type, often an unpleasant one. */
export function hostileValue(r: Random): unknown {
  switch (r.int(0, 7)) {
    case 0:
      return r.pick(HOSTILE_STRINGS);
    case 1:
      return r.pick(HOSTILE_NUMBERS);
    case 2:
      return r.pick([true, false, null]);
    case 3:
      return deep(r.int(2, 200), r.pick(HOSTILE_STRINGS));
    case 4:
      return Array.from({ length: r.int(0, 3) }, () => r.pick(HOSTILE_NUMBERS));
    case 5:
      return { __proto__: { admin: true }, constructor: { prototype: { role: "ADMIN" } } };
    case 6:
      return String(r.pick(HOSTILE_NUMBERS));
    default:
      return r.pick(HOSTILE_STRINGS).repeat(r.int(1, 3));
  }
}

/**
 * A value for `schema` (OpenAPI 3.1, refs resolved by `resolve`): usually valid, with a chance per field of a
 * hostile value instead, so that requests get past validation into the handlers and the database.
 */
export function valueFor(schema: any, r: Random, ctx: { ids: string[]; resolve: (s: any) => any }, depth = 0): unknown {
  schema = ctx.resolve(schema) ?? {};
  if (depth > 6 || r.chance(0.12)) return hostileValue(r);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return valueFor(r.pick(union), r, ctx, depth + 1);
  if (schema.enum) return r.pick(schema.enum);
  if (schema.const !== undefined) return schema.const;
  const type = Array.isArray(schema.type) ? r.pick(schema.type) : schema.type;
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      const required = new Set<string>(schema.required ?? []);
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        if (required.has(name) ? r.chance(0.95) : r.chance(0.5)) out[name] = valueFor(property, r, ctx, depth + 1);
      }
      if (r.chance(0.05)) out[r.pick(HOSTILE_STRINGS).slice(0, 50) || "extra"] = hostileValue(r);
      return out;
    }
    case "array": {
      const length = r.chance(0.9) ? r.int(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3)) : r.int(0, 60);
      return Array.from({ length }, () => valueFor(schema.items ?? {}, r, ctx, depth + 1));
    }
    case "integer":
    case "number": {
      if (r.chance(0.3)) return r.pick(HOSTILE_NUMBERS);
      const min = schema.minimum ?? 0;
      const max = Math.min(schema.maximum ?? min + 1000, min + 1_000_000);
      return r.int(min, max);
    }
    case "boolean":
      return r.chance(0.5);
    case "null":
      return null;
    default:
      return stringFor(schema, r, ctx);
  }
}

function stringFor(schema: any, r: Random, ctx: { ids: string[] }): string {
  if (r.chance(0.25)) return r.pick(HOSTILE_STRINGS);
  switch (schema.format) {
    case "uuid":
      return r.chance(0.7) ? r.pick(ctx.ids) : crypto.randomUUID();
    case "date-time": {
      const offsetDays = r.pick([-400_000, -365, -1, 0, 1, 30, 365, 3_000_000]);
      const at = Date.now() + offsetDays * 86_400_000;
      return Number.isFinite(new Date(at).getTime()) ? new Date(at).toISOString() : "9999-12-31T23:59:59.999Z";
    }
    case "date":
      return r.pick(["2026-12-01", "2000-01-01", "2100-12-31", "1999-12-31", "2101-01-01", "9999-12-31", "0000-01-01"]);
    case "email":
      return `fuzz-${crypto.randomUUID()}@test.kicks`;
    default: {
      const length = r.int(schema.minLength ?? 1, Math.min(schema.maxLength ?? 24, 24));
      if (schema.pattern && r.chance(0.5) && schema.example) return String(schema.example);
      return Array.from({ length }, () => r.pick([..."abcXYZ019-_ ", "가", "é"])).join("") || "x";
    }
  }
}

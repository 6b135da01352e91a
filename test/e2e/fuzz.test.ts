import { afterAll, describe, expect, it } from "bun:test";
import { createCoupon } from "../support/coupons";
import { HOSTILE_STRINGS, hostileValue, prng, type Random, valueFor } from "../support/fuzz";
import { createTestApp } from "../support/harness";
import { type Operation, operationsOf } from "../support/openapi-operations";
import { payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// Every operation of /openapi.json under generated requests: bodies, queries, path ids and headers that are
// mostly what the schema asks for, with wrong types, huge and negative numbers, far-off dates, deep nesting,
// unicode and SQL- or Lua-looking strings mixed in. Never a 5xx, never a stall, errors always problem+json
// with a documented status, nothing of our internals in a body. The seed is printed: FUZZ_SEED=<seed> replays
// a failure exactly (FUZZ_CASES sets how many requests; the default keeps CI near half a minute).
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const REQUEST_LIMIT_MS = Number(process.env.FUZZ_REQUEST_LIMIT_MS ?? 10_000);
console.log(`[fuzz] FUZZ_SEED=${SEED} FUZZ_CASES=${CASES}`);

const t = await createTestApp();
afterAll(() => t.close());

const buyer = await t.registerUser("BUYER");
const seller = await t.registerUser("SELLER");
const admin = await t.registerUser("ADMIN");
const product = await createProductVia(t, seller.token, { stock: 100_000 });
const unpaid = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: product.id, quantity: 1 }]);
const paid = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: product.id, quantity: 1 }]);
const payment = await payOrder(t, buyer, paid.id);
const coupon = await createCoupon(t, seller.token);
const event = (await t.get("/api/v1/admin/events?table=order&size=1", { token: admin.token })).body.items[0];
/** Ids of things that exist, so that generated requests reach past "not found" into the handlers. */
const ids = [buyer.user.id, seller.user.id, admin.user.id, product.id, unpaid.id, paid.id, payment.id, coupon.id];
if (event) ids.push(event.id);

const document = (await t.get("/openapi.json")).body;
const operations = operationsOf(document);
const resolve = (schema: any): any =>
  schema?.$ref ? resolve(document.components.schemas[schema.$ref.split("/").at(-1)]) : schema;
const callers = [undefined, buyer.token, seller.token, admin.token, admin.token, admin.token];
// Operations that hash a password (argon2id, deliberately slow) get a quarter of the turns of the others:
// CI time goes to code paths, not to key stretching.
const hashes = (op: Operation) => Boolean(op.body?.properties?.password);
const schedule = operations.flatMap((op) => (hashes(op) ? [op] : [op, op, op, op]));

/** What internals look like when they leak: stack frames, driver errors, SQL. */
const LEAK =
  /\.ts:\d+|node_modules|PostgresError|violates [a-z ]*constraint|syntax error at or near|relation "[^"]+" does not exist|ReplyError|ERR [a-z]/i;

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** The request broke the path itself: a 404 or 405 from routing is fair. */
  mangledPath: boolean;
}

/** A path segment as sent (already encoded, or deliberately not), and whether it may route elsewhere. */
function pathSegment(name: string, r: Random): { segment: string; mangled: boolean } {
  if (name === "table" && r.chance(0.8)) return { segment: r.pick(["order", "coupon"]), mangled: false };
  if (r.chance(0.7)) return { segment: r.pick(ids), mangled: false };
  if (r.chance(0.5)) return { segment: crypto.randomUUID(), mangled: false };
  const value = r.pick(HOSTILE_STRINGS);
  let segment = value;
  try {
    if (r.chance(0.7)) segment = encodeURIComponent(value);
  } catch {
    segment = "%ED%A0%80"; // a lone surrogate has no UTF-8: send the bytes it would have been
  }
  // An empty segment, or one with a slash, dot, percent sign or other raw character, may route elsewhere.
  return { segment, mangled: segment === "" || /[^A-Za-z0-9_~-]/.test(value) };
}

function queryOf(op: Operation, r: Random): string {
  const params = new URLSearchParams();
  for (const parameter of op.operation.parameters ?? []) {
    if (parameter.in !== "query" || !(parameter.required || r.chance(0.5))) continue;
    const value = valueFor(parameter.schema, r, { ids, resolve });
    params.append(parameter.name, typeof value === "string" ? value : JSON.stringify(value));
    if (r.chance(0.05)) params.append(parameter.name, String(hostileValue(r)));
  }
  if (r.chance(0.05)) params.append(r.pick(["pagee", "__proto__", "sort[]", "x"]), String(hostileValue(r)));
  const text = params.toString();
  return text ? `?${text}` : "";
}

function bodyOf(op: Operation, r: Random): string | undefined {
  if (!op.body) return r.chance(0.05) ? JSON.stringify(hostileValue(r)) : undefined;
  const roll = r.next();
  if (roll < 0.8) return JSON.stringify(valueFor(op.body, r, { ids, resolve }));
  if (roll < 0.88) return JSON.stringify(hostileValue(r));
  if (roll < 0.93) return r.pick(["{", '{"a":', "[1,]", "nul", "\u0000", '{"a":1}{"b":2}', "\ufeff{}", "'{}'"]);
  if (roll < 0.97) return `${"[".repeat(r.int(1_000, 100_000))}${"]".repeat(r.int(0, 10))}`;
  if (roll < 0.985) return `{"a":"${"x".repeat(1024 * 1024 + r.int(0, 100))}"}`;
  return JSON.stringify(Object.fromEntries(Array.from({ length: r.int(100, 5000) }, (_, i) => [`k${i}`, i])));
}

function headersOf(op: Operation, r: Random, hasBody: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  const token = r.pick(callers);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (r.chance(0.05)) {
    headers.Authorization = r.pick([
      "Bearer ",
      "Bearer a.b.c",
      "Basic YWRtaW46YWRtaW4=",
      `Bearer ${buyer.token.split(".").slice(0, 2).join(".")}.`,
      `Bearer eyJhbGciOiJub25lIn0.${btoa(JSON.stringify({ sub: admin.user.id, role: "ADMIN" }))}.`,
      `Bearer ${"x".repeat(10_000)}`,
    ]);
  }
  if (hasBody) {
    headers["Content-Type"] = r.chance(0.9)
      ? "application/json"
      : r.pick(["text/plain", "application/json; charset=utf-16", "application/x-www-form-urlencoded", "*/*", ""]);
  }
  if (op.method === "POST" && r.chance(0.2)) headers["Idempotency-Key"] = r.pick(HOSTILE_STRINGS) || "k";
  if (r.chance(0.05)) headers["X-Request-Id"] = r.pick(HOSTILE_STRINGS);
  // Header values cannot carry line breaks or NUL: drop what fetch itself would refuse.
  for (const [name, value] of Object.entries(headers)) {
    try {
      new Headers({ [name]: value });
    } catch {
      delete headers[name];
    }
  }
  return headers;
}

function generate(op: Operation, r: Random): Case {
  let mangledPath = false;
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const { segment, mangled } = pathSegment(name, r);
    mangledPath ||= mangled;
    return segment;
  });
  const body = bodyOf(op, r);
  return {
    method: op.method,
    path: path + queryOf(op, r),
    headers: headersOf(op, r, body !== undefined),
    body,
    mangledPath,
  };
}

async function send(c: Case): Promise<{ status: number; headers: Headers; text: string; ms: number }> {
  const started = performance.now();
  const answer = Promise.resolve(t.app.request(c.path, { method: c.method, headers: c.headers, body: c.body }));
  const request = answer.then(async (res) => ({
    status: res.status,
    headers: res.headers,
    text: await res.text(),
  }));
  let timer: Timer | undefined;
  const stall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REQUEST_LIMIT_MS} ms`)), REQUEST_LIMIT_MS);
  });
  try {
    return { ...(await Promise.race([request, stall])), ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** What is wrong with the answer to `c`, if anything. */
function findings(op: Operation, c: Case, res: { status: number; headers: Headers; text: string }): string[] {
  const found: string[] = [];
  if (res.status >= 500) found.push(`answered ${res.status}`);
  const routed = c.mangledPath && (res.status === 404 || res.status === 405);
  const tooLarge = res.status === 413;
  if (!op.statuses.has(res.status) && !routed && !tooLarge) found.push(`answered ${res.status}, not documented`);
  if (res.status >= 400) {
    if (!res.headers.get("content-type")?.startsWith("application/problem+json")) {
      found.push(`error without problem+json (${res.headers.get("content-type")})`);
    } else {
      const problem = JSON.parse(res.text);
      if (typeof problem.code !== "string" || problem.status !== res.status) found.push("malformed problem document");
    }
  }
  if (LEAK.test(res.text)) found.push(`leaks internals: ${LEAK.exec(res.text)?.[0]}`);
  return found;
}

describe(`fuzzing every operation (FUZZ_SEED=${SEED})`, () => {
  it(`answers ${CASES} generated requests without a 5xx, a stall, or an undocumented answer`, async () => {
    const r = prng(SEED);
    const failures: string[] = [];
    const statuses = new Map<string, number>();
    const spent = new Map<string, number>();
    let slowest = { ms: 0, what: "" };
    for (let i = 0; i < CASES && failures.length < 20; i++) {
      const op = schedule[i % schedule.length] as Operation;
      const c = generate(op, r);
      const what = `case ${i} ${c.method} ${c.path.slice(0, 200)} body=${(c.body ?? "").slice(0, 200)}`;
      try {
        const res = await send(c);
        statuses.set(`${op.operationId} ${res.status}`, (statuses.get(`${op.operationId} ${res.status}`) ?? 0) + 1);
        if (res.ms > slowest.ms) slowest = { ms: res.ms, what };
        spent.set(op.operationId, (spent.get(op.operationId) ?? 0) + res.ms);
        for (const finding of findings(op, c, res)) failures.push(`${what}: ${finding}; ${res.text.slice(0, 300)}`);
      } catch (error) {
        failures.push(`${what}: ${(error as Error).message}`);
      }
    }
    console.log(`[fuzz] slowest ${Math.round(slowest.ms)} ms: ${slowest.what.slice(0, 160)}`);
    if (process.env.FUZZ_VERBOSE) {
      console.log([...statuses].sort().join("\n"));
      console.log(
        [...spent]
          .sort((a, b) => b[1] - a[1])
          .map(([id, ms]) => `${id} ${Math.round(ms)} ms`)
          .join("\n"),
      );
    }
    expect(failures, `replay with FUZZ_SEED=${SEED}`).toEqual([]);
  }, 600_000);
});

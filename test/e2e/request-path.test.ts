import { afterAll, describe, expect, it } from "bun:test";
import { UnsupportedPathError } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { TrieRouter } from "hono/router/trie-router";
import { StaticFirstRouter } from "../../src/routes/lib/static-first-router";
import { HARDENING_HEADERS } from "../../src/routes/middleware/response-headers";
import { nativeRoutes } from "../../src/routes/operations/native-routes";
import { ProductListQuerySchema } from "../../src/routes/products/products.schemas";
import { createTestApp, hasRedis } from "../support/harness";
import { createProductVia, metricValue } from "../support/products";

// The fixed cost of a request (issue 20): a router that takes the whole route set, one app-level middleware.
const t = await createTestApp();
afterAll(() => t.close());
const router = t.app.router as unknown as StaticFirstRouter<unknown>;
const id = "01936b2c-7f00-7c3a-9d2e-5b1f0a4e8c11";

/** Concrete paths for every route of the app, its parameters filled in. */
const concretePaths = () =>
  [...new Set(t.app.routes.map((route) => route.path))]
    .filter((path) => !path.includes("*"))
    .map((path) => path.replace(/:[^/]+/g, "x1"));

describe("the router", () => {
  it("is one that takes the whole route set (the RegExpRouter refuses it)", () => {
    expect(router.name).toBe("StaticFirstRouter");
    const regExp = new RegExpRouter<number>();
    const build = () => {
      for (const [index, route] of t.app.routes.entries()) regExp.add(route.method, route.path, index);
      regExp.match("GET", "/healthz");
    };
    expect(build).toThrow(UnsupportedPathError);
  });

  it("matches every path of the app exactly as the trie does, fixed ones from its table", async () => {
    await t.get("/healthz");
    const trie = new TrieRouter<unknown>();
    for (const route of t.app.routes) trie.add(route.method, route.path, route.handler);
    for (const path of [...concretePaths(), "/api/v1/products/popular", `/api/v1/products/${id}`, "/nowhere"]) {
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
        // The app's router holds [handler, route] pairs; the trie built here holds the handlers themselves.
        const fromApp = (router.match(method, path)[0] as [[unknown, unknown], unknown][]).map(
          ([[handler]]) => handler,
        );
        expect(fromApp).toEqual(trie.match(method, path)[0].map(([handler]) => handler));
      }
    }
    expect(router.describe("GET", "/api/v1/products/popular")).toBe("fixed");
    expect(router.describe("GET", "/healthz")).toBe("fixed");
  });

  it("remembers a parameterised path once asked, and the same params come back", async () => {
    const path = `/api/v1/products/${crypto.randomUUID()}`;
    expect(router.describe("GET", path)).toBe("trie");
    expect((await t.get(path)).status).toBe(404);
    expect(router.describe("GET", path)).toBe("recent");
    const other = `/api/v1/products/${crypto.randomUUID()}`;
    const res = await t.get(other);
    expect(res.body.detail).toContain(other.split("/").at(-1));
  });

  it("keeps the remembered paths bounded", () => {
    const small = new StaticFirstRouter<string>();
    small.add("GET", "/items/:id", "item");
    for (let i = 0; i < 5000; i++) small.match("GET", `/items/${i}`);
    expect(small.describe("GET", "/items/0")).toBe("trie");
    expect(small.describe("GET", "/items/4999")).toBe("recent");
    expect(small.match("GET", "/items/42")[0]).toHaveLength(1);
  });
});

describe("the middleware chain", () => {
  it("is one app-level middleware before a route's own", () => {
    const healthz = router.match("GET", "/healthz")[0];
    // The edge middleware, the route's query check, the handler.
    expect(healthz).toHaveLength(3);
  });

  it("has no body limit on reads: a GET of a public list is the edge, its query's validation and its handler", async () => {
    expect(router.match("GET", "/api/v1/products")[0]).toHaveLength(3);
    // Writes keep theirs, and an unknown path under /api is still unknown whatever the method.
    expect(router.match("POST", "/api/v1/products")[0].length).toBeGreaterThan(3);
    for (const method of ["GET", "POST", "DELETE"]) {
      const res = await t.request(method, "/api/v1/nowhere", method === "GET" ? undefined : {});
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("ROUTE_NOT_FOUND");
    }
  });

  it("still refuses a query parameter on a route that takes none, naming it", async () => {
    const res = await t.get("/healthz?verbose=1&x=2");
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: "query.verbose", message: "is not a parameter of this route" },
      { path: "query.x", message: "is not a parameter of this route" },
    ]);
    expect((await t.get("/healthz?")).status).toBe(200);
  });

  it("validates a pure query once per distinct text, and each request gets what the parse gives", async () => {
    const schema = ProductListQuerySchema as unknown as { safeParseAsync: (value: unknown) => Promise<unknown> };
    const parse = schema.safeParseAsync;
    let parses = 0;
    schema.safeParseAsync = (value) => {
      parses++;
      return parse.call(schema, value);
    };
    try {
      const query = `category=running&sort=price_asc&size=3&page=${1 + Math.floor(Math.random() * 1000)}`;
      const first = await t.get(`/api/v1/products?${query}`);
      const again = await t.get(`/api/v1/products?${query}`);
      expect(first.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect({ size: again.body.size, page: again.body.page }).toEqual({ size: 3, page: first.body.page });
      expect(parses).toBe(1);
      // Another spelling of a query is parsed on its own; a refused one is parsed (and refused) every time.
      expect((await t.get(`/api/v1/products?${query.replace("size=3", "size=4")}`)).body.size).toBe(4);
      expect(parses).toBe(2);
      for (let i = 0; i < 2; i++) {
        const refused = await t.get("/api/v1/products?size=0&zz=1");
        expect(refused.status).toBe(400);
        expect(refused.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["query.size", "query.zz"]);
      }
      expect(parses).toBe(4);
    } finally {
      schema.safeParseAsync = parse;
    }
  });

  it("validates a pure path parameter once per value", async () => {
    const unknown = crypto.randomUUID();
    for (let i = 0; i < 2; i++) {
      const res = await t.get(`/api/v1/products/${unknown}`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("PRODUCT_NOT_FOUND");
    }
    const tooLong = await t.get(`/api/v1/products/${"x".repeat(101)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors[0].path).toBe("param.productId");
  });

  it("gives each answer of a page served again its own request id, with the page's ETag and caching", async () => {
    const answers = [];
    for (const requestId of ["again-1", "again-2", "again-3"]) {
      answers.push(await t.get("/api/v1/products?size=2", { headers: { "X-Request-Id": requestId } }));
    }
    expect(answers.map((res) => res.headers.get("x-request-id"))).toEqual(["again-1", "again-2", "again-3"]);
    expect(new Set(answers.map((res) => res.headers.get("etag"))).size).toBe(1);
    for (const res of answers) {
      expect(res.headers.get("cache-control")).toBe("public, max-age=0");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
    const popular = await t.get("/api/v1/products/popular", { headers: { "X-Request-Id": "popular-1" } });
    expect(popular.headers.get("x-cache")).toMatch(/^(HIT|MISS)$/);
    expect(popular.headers.get("x-request-id")).toBe("popular-1");
  });

  it("answers within REQUEST_TIMEOUT_MS with 503 and Retry-After, with the request id and hardening headers", async () => {
    const slow = await createTestApp({ env: { REQUEST_TIMEOUT_MS: "100", PAYMENT_GATEWAY_TIMEOUT_MS: "50" } });
    try {
      slow.app.get("/slow-for-test", async (c) => {
        await Bun.sleep(400);
        return c.text("late");
      });
      const res = await slow.get("/slow-for-test", { headers: { "X-Request-Id": "slow-1" } });
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(res.headers.get("x-request-id")).toBe("slow-1");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    } finally {
      await slow.close();
    }
  });

  it("sends the same headers on answers made with their hardening headers as on every other answer", async () => {
    // /healthz and public reads build their headers in one copy (hardenedJson); a 404 goes the general way.
    const general = await t.get("/nowhere", { headers: { "X-Request-Id": "general-1" } });
    const hardened = [
      await t.get("/healthz", { headers: { "X-Request-Id": "hardened-1" } }),
      await t.get("/api/v1/products", { headers: { "X-Request-Id": "hardened-1" } }),
    ];
    for (const res of hardened) {
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("x-request-id")).toBe("hardened-1");
      for (const [name, value] of HARDENING_HEADERS) {
        expect(res.headers.get(name)).toBe(value);
        expect(general.headers.get(name)).toBe(value);
      }
    }
  });
});

describe("the access line", () => {
  const accessLines = (logs: Record<string, any>[], requestId: string) =>
    logs.filter((line) => line.msg === "request" && line.requestId === requestId);

  it("is not written for a probe that succeeded, by default, but is for a failing one and for every other path", async () => {
    const logs: Record<string, any>[] = [];
    const app = await createTestApp({ logs, env: { LOG_LEVEL: "info" } });
    try {
      for (const path of ["/healthz", "/readyz"]) {
        expect((await app.get(path, { headers: { "X-Request-Id": `probe${path.slice(1)}` } })).status).toBe(200);
      }
      // A wrong method on a probe's path is no probe: 405, logged.
      const refused = await app.app.request("/healthz", { method: "POST", headers: { "X-Request-Id": "probe-post" } });
      expect(refused.status).toBe(405);
      await app.get("/api/v1/products", { headers: { "X-Request-Id": "not-a-probe" } });
      await Bun.sleep(0);
      expect(accessLines(logs, "probehealthz")).toEqual([]);
      expect(accessLines(logs, "probereadyz")).toEqual([]);
      expect(accessLines(logs, "probe-post")).toMatchObject([{ path: "/healthz", status: 405 }]);
      expect(accessLines(logs, "not-a-probe")).toMatchObject([{ route: "/api/v1/products", status: 200 }]);
    } finally {
      await app.close();
    }
  });

  it("is written for every probe with ACCESS_LOG_PROBES=true", async () => {
    const logs: Record<string, any>[] = [];
    const app = await createTestApp({ logs, env: { LOG_LEVEL: "info", ACCESS_LOG_PROBES: "true" } });
    try {
      await app.get("/healthz", { headers: { "X-Request-Id": "probe-logged" } });
      await Bun.sleep(0);
      expect(accessLines(logs, "probe-logged")).toMatchObject([{ route: "/healthz", status: 200 }]);
    } finally {
      await app.close();
    }
  });
});

const headersOf = (res: globalThis.Response) =>
  [...res.headers].filter(([name]) => name !== "x-request-id").sort(([a], [b]) => a.localeCompare(b));

describe("GET /healthz by Bun's router (native-routes.ts)", () => {
  const native = (path: string, headers: Record<string, string> = {}) => {
    const route = nativeRoutes(t.container, t.app)["/healthz"];
    if (!route) throw new Error("no native /healthz");
    return route.GET(new Request(`http://localhost${path}`, { headers }));
  };

  it("answers exactly as the app does: status, body, every header, the request id", async () => {
    const fromApp = await t.app.request("/healthz", { headers: { "X-Request-Id": "native-1" } });
    const fromBun = await native("/healthz", { "X-Request-Id": "native-1" });
    expect(fromBun.status).toBe(fromApp.status);
    expect(await fromBun.text()).toBe(await fromApp.text());
    expect(headersOf(fromBun)).toEqual(headersOf(fromApp));
    expect(fromBun.headers.get("x-request-id")).toBe("native-1");
    expect((await native("/healthz")).headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect((await native("/healthz", { "X-Request-Id": "bad id!" })).headers.get("x-request-id")).toMatch(
      /^[0-9a-f-]{36}$/,
    );
  });

  it("counts each answer in the request metrics and leaves a query string to the app", async () => {
    const served = async () =>
      metricValue((await t.get("/metrics")).body, "http_requests_total", {
        method: "GET",
        route: "/healthz",
        status: "200",
      });
    const before = await served();
    await native("/healthz");
    await native("/healthz");
    expect(await served()).toBe(before + 2);
    const refused = await native("/healthz?verbose=1");
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as any).errors).toEqual([
      { path: "query.verbose", message: "is not a parameter of this route" },
    ]);
  });

  it("is not used with ACCESS_LOG_PROBES=true: every probe goes through the app and its access line", async () => {
    const logged = await createTestApp({ env: { ACCESS_LOG_PROBES: "true" } });
    try {
      expect(nativeRoutes(logged.container, logged.app)["/healthz"]).toBeUndefined();
    } finally {
      await logged.close();
    }
  });
});

describe.skipIf(!hasRedis)("GET /api/v1/products/{productId} by Bun's router when its near copy is here", () => {
  it("answers exactly as the app does, with the same access line and metrics, and leaves the rest to the app", async () => {
    const logs: Record<string, any>[] = [];
    const app = await createTestApp({ logs, env: { LOG_LEVEL: "info" } });
    try {
      const seller = await app.registerUser("SELLER");
      const product = await createProductVia(app, seller.token);
      const path = `/api/v1/products/${product.id}`;
      let viaApp = 0;
      const route = nativeRoutes(app.container, {
        fetch: (request: Request) => {
          viaApp++;
          return app.app.fetch(request);
        },
      })["/api/v1/products/:productId"];
      if (!route) throw new Error("no native product route");
      const native = (at: string, headers: Record<string, string> = {}) =>
        route.GET(new Request(`http://localhost${at}`, { headers }));
      const served = async () =>
        metricValue((await app.get("/metrics")).body, "http_requests_total", {
          method: "GET",
          route: "/api/v1/products/:productId",
          status: "200",
        });

      // Not held here yet: the app answers (and keeps the copy); then Bun's router does.
      const first = await native(path, { "X-Request-Id": "by-app" });
      expect(viaApp).toBe(1);
      const fromApp = await app.app.request(path, { headers: { "X-Request-Id": "by-app-2" } });
      const before = await served();
      const viaAppBefore = viaApp;
      const fromBun = await native(path, { "X-Request-Id": "by-bun" });
      expect(viaApp).toBe(viaAppBefore);
      expect(await served()).toBe(before + 1);
      expect(fromBun.status).toBe(200);
      const body = await fromBun.text();
      expect(body).toBe(await fromApp.text());
      expect(body).toBe(await first.text());
      expect(headersOf(fromBun)).toEqual(headersOf(fromApp));
      expect(fromBun.headers.get("x-request-id")).toBe("by-bun");
      await Bun.sleep(0);
      const lineOf = (requestId: string) => {
        const { time: _time, ms: _ms, requestId: _id, ...line } = logs.find((l) => l.requestId === requestId) ?? {};
        return line;
      };
      expect(lineOf("by-bun")).toEqual(lineOf("by-app-2"));
      expect(lineOf("by-bun")).toMatchObject({ msg: "request", path, route: "/api/v1/products/:productId" });

      // A change drops the copy on every instance: the next answer is the app's, with the new page.
      const edited = await app.request(
        "PATCH",
        path,
        { version: product.version, price: 123_000 },
        { token: seller.token },
      );
      expect(edited.status).toBe(200);
      expect(((await (await native(path)).json()) as any).price).toBe(123_000);

      // What only the app answers.
      const tag = fromBun.headers.get("etag") as string;
      expect((await native(path, { "If-None-Match": tag })).status).toBe(200); // the page changed since
      const current = (await native(path)).headers.get("etag") as string;
      expect((await native(path, { "If-None-Match": current })).status).toBe(304);
      expect((await native(`/api/v1/products/${crypto.randomUUID()}`)).status).toBe(404);
      expect((await native("/api/v1/products/not-an-id")).status).toBe(404);
      expect((await native(`${path}?x=1`)).status).toBe(400);
    } finally {
      await app.close();
    }
  });
});

describe.skipIf(!hasRedis)(
  "GET /api/v1/products?… by Bun's router when its query is remembered and its page here",
  () => {
    it("answers exactly as the app does, with the same access line and metrics, and leaves the rest to the app", async () => {
      const logs: Record<string, any>[] = [];
      const app = await createTestApp({ logs, env: { LOG_LEVEL: "info" } });
      try {
        const seller = await app.registerUser("SELLER");
        const category = `native-${crypto.randomUUID().slice(0, 8)}`;
        await createProductVia(app, seller.token, { category });
        await createProductVia(app, seller.token, { category });
        let viaApp = 0;
        const route = nativeRoutes(app.container, {
          fetch: (request: Request) => {
            viaApp++;
            return app.app.fetch(request);
          },
        })["/api/v1/products"];
        if (!route) throw new Error("no native list route");
        const native = (at: string, headers: Record<string, string> = {}) =>
          route.GET(new Request(`http://localhost${at}`, { headers }));
        const served = async () =>
          metricValue((await app.get("/metrics")).body, "http_requests_total", {
            method: "GET",
            route: "/api/v1/products",
            status: "200",
          });
        const path = `/api/v1/products?category=${category}&sort=price_asc&size=5`;

        // Never validated here: the app answers (and remembers the query, and keeps the page); then Bun's router does.
        const first = await native(path, { "X-Request-Id": "list-by-app" });
        expect(viaApp).toBe(1);
        const fromApp = await app.app.request(path, { headers: { "X-Request-Id": "list-by-app-2" } });
        const before = await served();
        const fromBun = await native(path, { "X-Request-Id": "list-by-bun" });
        expect(await served()).toBe(before + 1);
        expect(fromBun.status).toBe(200);
        const body = await fromBun.text();
        expect(body).toBe(await fromApp.text());
        expect(body).toBe(await first.text());
        expect(JSON.parse(body).items).toHaveLength(2);
        expect(headersOf(fromBun)).toEqual(headersOf(fromApp));
        expect(fromBun.headers.get("x-request-id")).toBe("list-by-bun");
        await Bun.sleep(0);
        const lineOf = (requestId: string) => {
          const { time: _time, ms: _ms, requestId: _id, ...line } = logs.find((l) => l.requestId === requestId) ?? {};
          return line;
        };
        expect(lineOf("list-by-bun")).toEqual(lineOf("list-by-app-2"));
        expect(lineOf("list-by-bun")).toMatchObject({ path: "/api/v1/products", route: "/api/v1/products" });

        // What only the app answers: a refused query (every time), a 304.
        for (let i = 0; i < 2; i++) expect((await native("/api/v1/products?size=0")).status).toBe(400);
        const tag = fromBun.headers.get("etag") as string;
        expect((await native(path, { "If-None-Match": tag })).status).toBe(304);
        expect((await native(`${path}&page=2`)).status).toBe(200);
      } finally {
        await app.close();
      }
    });
  },
);

describe.skipIf(!hasRedis)("GET /api/v1/products/popular by Bun's router when its ranking is here", () => {
  it("answers a hit exactly as the app does, and leaves the rest to the app", async () => {
    const logs: Record<string, any>[] = [];
    const app = await createTestApp({ logs, env: { LOG_LEVEL: "info" } });
    try {
      let viaApp = 0;
      const route = nativeRoutes(app.container, {
        fetch: (request: Request) => {
          viaApp++;
          return app.app.fetch(request);
        },
      })["/api/v1/products/popular"];
      if (!route) throw new Error("no native popular route");
      const native = (at: string, headers: Record<string, string> = {}) =>
        route.GET(new Request(`http://localhost${at}`, { headers }));
      const path = "/api/v1/products/popular?days=2&limit=3";
      await native(path);
      expect(viaApp).toBe(1);
      const fromApp = await app.app.request(path, { headers: { "X-Request-Id": "popular-by-app" } });
      expect(fromApp.headers.get("x-cache")).toBe("HIT");
      const fromBun = await native(path, { "X-Request-Id": "popular-by-bun" });
      expect(viaApp).toBe(1);
      expect(await fromBun.text()).toBe(await fromApp.text());
      expect(headersOf(fromBun)).toEqual(headersOf(fromApp));
      await Bun.sleep(0);
      const lineOf = (requestId: string) => {
        const { time: _time, ms: _ms, requestId: _id, ...line } = logs.find((l) => l.requestId === requestId) ?? {};
        return line;
      };
      expect(lineOf("popular-by-bun")).toEqual(lineOf("popular-by-app"));
      expect(lineOf("popular-by-bun")).toMatchObject({ route: "/api/v1/products/popular" });
      expect((await native("/api/v1/products/popular?days=99")).status).toBe(400);
      expect(viaApp).toBe(2);
    } finally {
      await app.close();
    }
  });
});

describe("the route an answer is counted and logged under", () => {
  it("is the route that answered: popular products are not product reads", async () => {
    const logs: Record<string, any>[] = [];
    const app = await createTestApp({ logs, env: { LOG_LEVEL: "info" } });
    try {
      await app.get("/api/v1/products/popular", { headers: { "X-Request-Id": "popular-route" } });
      await app.get(`/api/v1/products/${crypto.randomUUID()}`, { headers: { "X-Request-Id": "product-route" } });
      await Bun.sleep(0);
      const routeOf = (requestId: string) => logs.find((line) => line.requestId === requestId)?.route;
      expect(routeOf("popular-route")).toBe("/api/v1/products/popular");
      expect(routeOf("product-route")).toBe("/api/v1/products/:productId");
      const text = (await app.get("/metrics")).body;
      expect(metricValue(text, "http_requests_total", { route: "/api/v1/products/popular", status: "200" })).toBe(1);
      expect(metricValue(text, "http_requests_total", { route: "/api/v1/products/:productId", status: "200" })).toBe(0);
      // A layer that answers before its route names the route it guarded.
      const tooLarge = await app.app.request("/api/v1/orders", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Request-Id": "too-large" },
        body: JSON.stringify({ pad: "x".repeat(1024 * 1024 + 10) }),
      });
      expect(tooLarge.status).toBe(413);
      await Bun.sleep(0);
      expect(routeOf("too-large")).toBe("/api/v1/orders");
    } finally {
      await app.close();
    }
  });
});

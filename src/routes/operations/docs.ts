import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
// Bundled into the binary, so the reference renders with no internet access. The package does not
// export this file (hence the relative path) and ships no types for it; `type: "file"` makes it a path.
// @ts-expect-error TS7016: no declaration file for the standalone bundle
import scalarBundle from "../../../node_modules/@scalar/api-reference/dist/browser/standalone.js" with { type: "file" };
import type { AppEnv } from "../lib/app-env";

const SCALAR_PATH = "/docs/scalar.js";

interface Encoded {
  identity: Uint8Array;
  br: Uint8Array;
  gzip: Uint8Array;
}

let encoded: Promise<Encoded> | undefined;
/**
 * The 4 MB script, compressed once per process (the server starts this as it begins to listen; zlib works
 * in its own threads) and kept: every visitor gets the bytes as they are.
 */
export function scalarScript(): Promise<Encoded> {
  encoded ??= (async () => {
    const identity = new Uint8Array(await Bun.file(scalarBundle as string).arrayBuffer());
    const [br, gz] = await Promise.all([
      promisify(brotliCompress)(identity, {
        // Quality 5: a quarter of 4.35 MB in about a second; 9 saves 4 % more for three times the CPU.
        params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: identity.length },
      }),
      promisify(gzip)(identity, { level: 6 }),
    ]);
    return { identity, br: new Uint8Array(br), gzip: new Uint8Array(gz) };
  })();
  return encoded;
}

/** The best encoding the client accepts (q > 0), brotli first. */
function chooseEncoding(acceptEncoding: string | undefined): keyof Encoded {
  const accepted = new Map<string, number>();
  for (const part of (acceptEncoding ?? "").split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (name) accepted.set(name, q === undefined ? 1 : Number(q));
  }
  const takes = (name: string) => (accepted.get(name) ?? accepted.get("*") ?? 0) > 0;
  if (takes("br")) return "br";
  if (takes("gzip")) return "gzip";
  return "identity";
}

/** SHA-256 sources of the page's inline scripts, for its CSP (computed once: the page never changes). */
let inlineScriptHashes: string[] | undefined;
const hashesOf = (html: string) =>
  [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map(
    (match) => `'sha256-${new Bun.CryptoHasher("sha256").update(match[1] as string).digest("base64")}'`,
  );

/**
 * /docs may run our script and its own inline start-up script only, fetch only from us, and be framed by
 * nobody (clickjacking). Scalar sets styles inline and draws icons from data: URLs.
 */
const docsPolicy = createMiddleware<AppEnv>(async (c, next) => {
  // The page asks for the script next: have it compressed by then (once per process).
  scalarScript().catch(() => {});
  await next();
  inlineScriptHashes ??= hashesOf(await c.res.clone().text());
  c.res.headers.set(
    "Content-Security-Policy",
    [
      "default-src 'none'",
      `script-src 'self' ${inlineScriptHashes.join(" ")}`,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      "font-src 'self' data:",
      "connect-src 'self'",
      "worker-src 'self' blob:",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
  );
});

/** `/docs`: Scalar's reference over `/openapi.json`, its script served by us instead of a CDN. */
export const docsRouter = new Hono<AppEnv>()
  .get(SCALAR_PATH, async (c) => {
    const encoding = chooseEncoding(c.req.header("Accept-Encoding"));
    const body = (await scalarScript())[encoding];
    return c.body(body as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "public, max-age=86400",
      "Content-Length": String(body.length),
      Vary: "Accept-Encoding",
      ...(encoding === "identity" ? {} : { "Content-Encoding": encoding }),
    });
  })
  .get(
    "/docs",
    docsPolicy,
    // Nothing on the page may reach out: no hosted fonts, telemetry, AI agent, MCP or developer toolbar.
    Scalar({
      url: "/openapi.json",
      cdn: SCALAR_PATH,
      pageTitle: "Kicks API",
      withDefaultFonts: false,
      telemetry: false,
      agent: { disabled: true },
      mcp: { disabled: true },
      showDeveloperTools: "never",
    }),
  );

import { Scalar } from "@scalar/hono-api-reference";
import { Hono } from "hono";
// Bundled into the binary, so the reference renders with no internet access. The package does not
// export this file (hence the relative path) and ships no types for it; `type: "file"` makes it a path.
// @ts-expect-error TS7016: no declaration file for the standalone bundle
import scalarBundle from "../../../node_modules/@scalar/api-reference/dist/browser/standalone.js" with { type: "file" };
import type { AppEnv } from "../lib/app-env";

const SCALAR_PATH = "/docs/scalar.js";

/** `/docs`: Scalar's reference over `/openapi.json`, its script served by us instead of a CDN. */
export const docsRouter = new Hono<AppEnv>()
  .get(SCALAR_PATH, (c) =>
    c.body(Bun.file(scalarBundle as string).stream(), 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "public, max-age=86400",
    }),
  )
  .get(
    "/docs",
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

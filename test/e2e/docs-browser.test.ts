import { afterAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { createTestApp } from "../support/harness";

// /docs as a person sees it: Debian's Chromium, headless, with nothing reachable but this machine. The operations
// it must show come from /openapi.json, so the check grows with the API.
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SCREENSHOT = join(tmpdir(), "kicks-docs.png");
// .ci/run installs Chromium, so in CI a missing browser fails the test; elsewhere it is skipped, saying why.
const skip = !existsSync(CHROMIUM) && !process.env.CI;
const title = skip
  ? `the /docs page in a browser (skipped: no ${CHROMIUM}; apt-get install -y chromium)`
  : "the /docs page in a browser";

const isLocal = (url: string) => ["127.0.0.1", "localhost", "[::1]"].includes(new URL(url).hostname);

describe.skipIf(skip)(title, () => {
  let browser: Browser | undefined;
  let server: ReturnType<typeof Bun.serve> | undefined;
  afterAll(async () => {
    await browser?.close();
    server?.stop(true);
  });

  it("renders the reference with every operation of /openapi.json, without a request off this machine", async () => {
    const t = await createTestApp();
    afterAll(() => t.close());
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: t.app.fetch });
    const base = `http://127.0.0.1:${server.port}`;
    const document: any = await (await fetch(`${base}/openapi.json`)).json();
    const operations = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
    );

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const offMachine: string[] = [];
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (isLocal(url)) return route.continue();
      offMachine.push(url);
      return route.abort("blockedbyclient");
    });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    // The page's Content-Security-Policy must not block anything the reference needs.
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
    });

    await page.goto(`${base}/docs`);
    await page.getByRole("heading", { level: 1, name: document.info.title }).waitFor({ timeout: 30_000 });

    // The sidebar opens one group per tag; each operation is a link in its group and a section in the page.
    const tags = [...new Set(operations.map(({ operation }) => operation.tags?.[0]).filter(Boolean))];
    for (const tag of tags) {
      const toggle = page.getByRole("button", { name: `Open Group - ${tag}`, exact: true });
      if ((await toggle.count()) > 0) await toggle.click();
    }
    await page.screenshot({ path: SCREENSHOT });
    console.log(`[docs] screenshot: ${SCREENSHOT}`);

    const missing: string[] = [];
    for (const { path, method, operation } of operations) {
      const anchor = `/${method.toUpperCase()}${path}`;
      const link = page.locator(`a[href$="${anchor}"]`).first();
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator, read as rendered for a person
      if ((await link.count()) === 0 || !(await link.innerText()).includes(operation.summary)) {
        missing.push(`${method.toUpperCase()} ${path}: no sidebar link "${operation.summary}"`);
        continue;
      }
      await link.click();
      const section = page.locator(`section[id$="${anchor}"]`);
      await section.waitFor({ state: "visible", timeout: 10_000 });
      // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator, read as rendered for a person
      const text = await section.innerText();
      if (!text.includes(operation.summary) || !text.includes(path)) {
        missing.push(`${method.toUpperCase()} ${path}: its section does not show its summary and path`);
      }
    }

    expect(missing).toEqual([]);
    expect(operations.length).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);
    expect(offMachine).toEqual([]);
  });
});

import { describe, expect, it } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { CONFIG_VARIABLES } from "../../src/infra/config";

// The README is the first thing a newcomer reads: it stays short, and it and every page of docs/ only link to
// pages (and headings) that exist, so moving or renaming a page cannot leave a dead link behind.
const root = join(import.meta.dir, "../..");
const pages = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];
const read = (page: string) => readFileSync(join(root, page), "utf8");

const README_MAX_LINES = 150;

/** The text outside fenced code blocks. */
const withoutFences = (markdown: string) => markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");

/** The text outside fenced code blocks and inline code, where Markdown links are links. */
const prose = (markdown: string) => withoutFences(markdown).replace(/`[^`\n]*`/g, "");

/** GitHub's anchor for each heading: lowercased, punctuation dropped, spaces as dashes, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, text] of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = text!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** Every relative link of a page (inline `[text](target)` links), as written. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** What is wrong with one link of `page` (whose text is `markdown`), or undefined when it resolves. */
function brokenLink(page: string, markdown: string, target: string): string | undefined {
  const [path = "", anchor] = target.split("#", 2);
  if (path === "") return headingAnchors(markdown).has(anchor ?? "") ? undefined : `${target}: no such heading`;
  const file = relative(root, resolve(dirname(join(root, page)), decodeURIComponent(path)));
  if (!existsSync(join(root, file))) return `${target}: no file ${file}`;
  if (anchor === undefined || !file.endsWith(".md")) return undefined;
  return headingAnchors(read(file)).has(anchor) ? undefined : `${target}: no heading #${anchor} in ${file}`;
}

describe("the README", () => {
  it(`is at most ${README_MAX_LINES} lines`, () => {
    const lines = read("README.md").replace(/\n$/, "").split("\n").length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it("shows the two commands that work on a fresh machine before anything else it runs", () => {
    const firstBlock = read("README.md").match(/```sh\n([\s\S]*?)```/)?.[1] ?? "";
    expect(firstBlock).toContain("bun install && bun run start");
    expect(firstBlock).toContain("bun run test");
  });
});

describe("relative links in the README and docs/", () => {
  it("finds the pages to check", () => {
    expect(pages).toContain("docs/README.md");
    expect(pages.length).toBeGreaterThan(10);
  });

  for (const page of pages) {
    it(`all resolve in ${page}`, () => {
      const markdown = read(page);
      const broken = relativeLinks(markdown).flatMap((target) => brokenLink(page, markdown, target) ?? []);
      expect(broken).toEqual([]);
    });
  }

  it("catches a link to a missing page or heading, and ignores links inside code", () => {
    const sample = [
      "# A page",
      "[ok](guarantees.md) [gone](no-such-page.md) [bad heading](guarantees.md#no-such-heading)",
      "[here](#a-page) [web](https://example.com) `[code](not-a-link.md)`",
      "```",
      "[fenced](also-not-a-link.md)",
      "```",
    ].join("\n");
    const links = relativeLinks(sample);
    expect(links).toEqual(["guarantees.md", "no-such-page.md", "guarantees.md#no-such-heading", "#a-page"]);
    expect(links.map((target) => brokenLink("docs/sample.md", sample, target))).toEqual([
      undefined,
      "no-such-page.md: no file docs/no-such-page.md",
      "guarantees.md#no-such-heading: no heading #no-such-heading in docs/guarantees.md",
      undefined,
    ]);
    expect(brokenLink("docs/sample.md", sample, "#another-page")).toBe("#another-page: no such heading");
  });

  it("makes the anchors GitHub makes", () => {
    const anchors = headingAnchors("# Orders and checkout (issues 8 and 9)\n## Stopping\n## Stopping\n## `GET /x` — y");
    expect([...anchors]).toEqual(["orders-and-checkout-issues-8-and-9", "stopping", "stopping-1", "get-x--y"]);
  });
});

describe("docs/operations.md's configuration table", () => {
  it("names exactly the variables src/infra/config.ts reads", () => {
    const section =
      read("docs/operations.md")
        .split(/^## Configuration$/m)[1]
        ?.split(/^## /m)[0] ?? "";
    const documented = [...section.matchAll(/^\| ([^|]+) \|/gm)]
      .flatMap((row) => [...row[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((name) => name[1]!))
      .sort();
    expect(documented).toEqual([...CONFIG_VARIABLES].sort());
  });
});

import { describe, expect, it } from "bun:test";
import { Glob } from "bun";
import { DOMAIN_ERROR_CODES } from "../../src/domain/shared/errors";
import { errorCatalog, HTTP_ONLY_CODES, problemStatus } from "../../src/routes/lib/error-catalog";

const ROOT = `${import.meta.dir}/../..`;

async function sourcesUnder(folder: string): Promise<{ path: string; text: string }[]> {
  const files: { path: string; text: string }[] = [];
  for await (const path of new Glob(`${folder}/**/*.ts`).scan(ROOT)) {
    files.push({ path, text: await Bun.file(`${ROOT}/${path}`).text() });
  }
  return files;
}

describe("the error catalog at the edge", () => {
  it("answers every code the domain can report with an error status", () => {
    for (const code of DOMAIN_ERROR_CODES) expect(problemStatus(code)).toBeGreaterThanOrEqual(400);
  });

  it("keeps the codes only HTTP produces out of the domain's codes", () => {
    for (const code of HTTP_ONLY_CODES) expect(DOMAIN_ERROR_CODES as readonly string[]).not.toContain(code);
    expect(Object.keys(errorCatalog).sort()).toEqual([...DOMAIN_ERROR_CODES, ...HTTP_ONLY_CODES].sort());
  });

  it("leaves HTTP out of the domain: no import of the routes, no error catalog, no 200/202 results", async () => {
    const offenders = (await sourcesUnder("src/domain"))
      .filter(({ text }) => /from "\.\.\/\.\.\/routes|errorCatalog|\bstatus: 20[0-9]\b|: 200 \| 202/.test(text))
      .map(({ path }) => path);
    expect(offenders).toEqual([]);
  });
});

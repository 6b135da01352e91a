// `bun scripts/embedded-template.ts [--force]` (run by `bun install` as postinstall, and by `bun run build`): makes
// the embedded database's template in node_modules/.cache/kicks unless the one there already holds exactly the
// committed migrations for the installed PGlite. Never fails an install: without a template a first embedded start
// only takes longer (it says so).

import { TEMPLATE_CACHE_DIR, templateIsCurrent, writeTemplate } from "../src/infra/db/embedded/template";
import { loadMigrations } from "../src/infra/db/migrations/migrations";

/** The path of a template of the committed migrations, made first if the cached one is not that. */
export async function ensureTemplate(force = false): Promise<string> {
  const migrations = loadMigrations();
  if (!force && templateIsCurrent(TEMPLATE_CACHE_DIR, migrations))
    return `${TEMPLATE_CACHE_DIR}/embedded-template.tar.gz`;
  const started = performance.now();
  console.log(`kicks: preparing the embedded database template (${migrations.length} migrations)…`);
  const path = await writeTemplate(TEMPLATE_CACHE_DIR, migrations);
  console.log(`kicks: embedded database template ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return path;
}

if (import.meta.main) {
  try {
    await ensureTemplate(process.argv.includes("--force"));
  } catch (error) {
    console.warn(`kicks: no embedded database template (${error}); a first embedded start will take longer`);
  }
}

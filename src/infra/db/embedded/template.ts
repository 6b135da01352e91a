// The embedded database's template: a PGlite data directory with the migrations already applied, as PGlite's own
// gzipped tarball. Creating a database from scratch (initdb, then every migration) takes 6-30 s on PGlite; unpacking
// the template takes a fraction of a second, after which the normal migrations apply whatever it does not have yet.
// Under `bun`, `bun install` (postinstall) writes it to node_modules/.cache/kicks; `bun run build` puts it inside
// the binary. Without one (installed with --ignore-scripts, say) a first start simply takes the slow way.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { MigrationMeta } from "drizzle-orm/migrator";
import { drizzle } from "drizzle-orm/pglite";
import { applyMigrations, loadMigrations } from "../migrations/migrations";
import { type EmbeddedEngine, embeddedEngine } from "./engine";
import { unpackTar } from "./tar";

export interface EmbeddedTemplate {
  /** The gzipped archive: a file in the cache, or inside the binary (a /$bunfs/ path that readFileSync reads). */
  readonly archive: string;
  /** The hashes of the migrations applied in it, oldest first. */
  readonly migrations: readonly string[];
  /** Where it comes from, for the log. */
  readonly source: string;
}

/** Beside the archive in a cache folder: what it was made with. */
interface TemplateManifest {
  engine: string;
  migrations: string[];
}

export const TEMPLATE_CACHE_DIR = join(import.meta.dir, "../../../../node_modules/.cache/kicks");
const ARCHIVE = "embedded-template.tar.gz";
const MANIFEST = "embedded-template.json";
/** How scripts/build.ts names the archive it embeds (Bun adds a content hash before the extension). */
export const EMBEDDED_ARCHIVE_PREFIX = "embedded-template";

/**
 * A database made from the template reaches `migrations` by applying the rest of them only if the template's are
 * their first ones, exactly (drizzle's migrator skips every migration not newer than the last one recorded).
 * Renumbered or edited migrations, or a MIGRATIONS_DIR that stops earlier, mean the template is not used.
 */
export function templateFits(template: EmbeddedTemplate, migrations: readonly MigrationMeta[]): boolean {
  return (
    template.migrations.length <= migrations.length &&
    template.migrations.every((hash, i) => migrations[i]?.hash === hash)
  );
}

/** The template a new embedded database starts from: the one built into the binary, else the cached one. */
export function findTemplate(engine: EmbeddedEngine = embeddedEngine()): EmbeddedTemplate | undefined {
  // scripts/build.ts builds it from the very migrations and PGlite compiled into the binary beside it.
  const builtIn = Bun.embeddedFiles
    .map((file) => (file as Blob & { name?: string }).name ?? "")
    .find((name) => name.startsWith(EMBEDDED_ARCHIVE_PREFIX));
  if (builtIn) {
    // Embedded files sit beside the entry point, the way `type: "file"` imports do.
    const archive = join(dirname(Bun.main), basename(builtIn));
    return { archive, migrations: loadMigrations().map((m) => m.hash), source: "built in" };
  }
  return readTemplate(TEMPLATE_CACHE_DIR, engine);
}

/** The template cached in `dir`, when there is one made by this engine. */
export function readTemplate(dir: string, engine: EmbeddedEngine = embeddedEngine()): EmbeddedTemplate | undefined {
  let manifest: TemplateManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8"));
  } catch {
    return undefined;
  }
  if (manifest.engine !== engine.fingerprint || !existsSync(join(dir, ARCHIVE))) return undefined;
  return { archive: join(dir, ARCHIVE), migrations: manifest.migrations, source: dir };
}

/** Whether `dir` holds a template of exactly these migrations for this engine (nothing to rebuild). */
export function templateIsCurrent(dir: string, migrations: readonly MigrationMeta[]): boolean {
  const template = readTemplate(dir);
  return !!template && template.migrations.length === migrations.length && templateFits(template, migrations);
}

/**
 * Makes the template of `migrations` in memory and writes it to `dir` (archive first, then the manifest that
 * makes it valid, each renamed into place so a reader never sees half of one). Returns the archive's path.
 */
export async function writeTemplate(dir: string, migrations: readonly MigrationMeta[]): Promise<string> {
  const engine = embeddedEngine();
  const client = new PGlite({ ...engine.options });
  try {
    await applyMigrations(drizzle({ client, casing: "snake_case" }), [...migrations]);
    // Everything on disk in its final place, so the copy starts without replaying the write-ahead log.
    await client.query("checkpoint");
    const archive = await client.dumpDataDir("gzip");
    mkdirSync(dir, { recursive: true });
    const manifest: TemplateManifest = { engine: engine.fingerprint, migrations: migrations.map((m) => m.hash) };
    rmSync(join(dir, MANIFEST), { force: true });
    writeFileSync(join(dir, `${ARCHIVE}.${process.pid}`), new Uint8Array(await archive.arrayBuffer()));
    renameSync(join(dir, `${ARCHIVE}.${process.pid}`), join(dir, ARCHIVE));
    writeFileSync(join(dir, `${MANIFEST}.${process.pid}`), JSON.stringify(manifest));
    renameSync(join(dir, `${MANIFEST}.${process.pid}`), join(dir, MANIFEST));
    return join(dir, ARCHIVE);
  } finally {
    await client.close();
  }
}

/** How a new embedded database is being made, when it is (for the one progress line of a first start). */
export type EmbeddedCreation = { from: "template"; source: string } | { from: "initdb" };

// Written before a database is created and removed once its migrations are applied: found at a start, it means
// the last creation was interrupted (killed during initdb or while unpacking), so the half-made folder, which
// never held data, is made again.
const CREATING_MARKER = "pglite.creating";

/**
 * Gets `dataDir`/pglite ready to open: nothing to do when it holds a database; otherwise it is (re)made from the
 * template when one fits, or left to PGlite's initdb. `created()` is called once the migrations are in.
 */
export function prepareDataDir(
  dataDir: string,
  databaseDir: string,
  migrations: readonly MigrationMeta[],
  template: EmbeddedTemplate | undefined,
): { creation?: EmbeddedCreation; created(): void } {
  const marker = join(dataDir, CREATING_MARKER);
  const nothingMore = { created() {} };
  if (existsSync(marker)) rmSync(databaseDir, { recursive: true, force: true });
  else if (existsSync(join(databaseDir, "PG_VERSION"))) return nothingMore;
  // A folder without PG_VERSION holds no database: whatever is in it is the debris of a creation.
  rmSync(databaseDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(marker, "");
  const created = () => rmSync(marker, { force: true });
  if (template && templateFits(template, migrations)) {
    unpackTar(Bun.gunzipSync(readFileSync(template.archive)), databaseDir);
    return { creation: { from: "template", source: template.source }, created };
  }
  return { creation: { from: "initdb" }, created };
}

/** The line a first start logs while the embedded database is being made. */
export function describeCreation(creation: EmbeddedCreation): string {
  return creation.from === "template"
    ? "first start: creating the embedded database from its template (about a second)"
    : "first start: creating the embedded database from scratch (10-30 s; `bun install` prepares a template " +
        "that makes this about a second)";
}

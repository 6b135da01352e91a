import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { openDatabase, rowsOf } from "../../src/infra/db/client";
import { DataDirInUseError } from "../../src/infra/db/embedded/data-dir-lock";
import {
  type EmbeddedTemplate,
  prepareDataDir,
  readTemplate,
  templateFits,
  writeTemplate,
} from "../../src/infra/db/embedded/template";
import { loadMigrations } from "../../src/infra/db/migrations/migrations";

const scratch = mkdtempSync(join(tmpdir(), "kicks-template-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const migrations = loadMigrations(globalThis.kicksTest.migrationsDir);
const OLDER = 10;
const behind = join(scratch, "behind");
// An in-memory initdb and ten migrations: a while on a busy machine.
beforeAll(() => writeTemplate(behind, migrations.slice(0, OLDER)), 180_000);

async function appliedHashes(dataDir: string, template?: EmbeddedTemplate) {
  const database = openDatabase({ poolSize: 1, dataDir, template });
  try {
    return {
      creation: database.creation,
      // Synchronously after opening: initdb cannot have run yet, so a database already on disk came from the template.
      onDiskAtOnce: existsSync(join(dataDir, "pglite", "PG_VERSION")),
      hashes: await database.migrate().then(async () => {
        const result = await database.db.execute(sql`select hash from drizzle.__drizzle_migrations order by id`);
        return rowsOf<{ hash: string }>(result).map((row) => row.hash);
      }),
    };
  } finally {
    await database.close();
  }
}

describe("the embedded database template", () => {
  it("starts a fresh DATA_DIR from a template behind the migrations and applies the rest", async () => {
    const template = readTemplate(behind);
    expect(template?.migrations).toHaveLength(OLDER);

    const dataDir = join(scratch, "from-behind");
    const first = await appliedHashes(dataDir, template);
    expect(first.creation).toMatchObject({ from: "template" });
    expect(first.onDiskAtOnce).toBe(true);
    expect(first.hashes).toEqual(migrations.map((m) => m.hash));

    // Opened again, it is the same database: nothing is created, nothing is left to apply.
    const again = await appliedHashes(dataDir, template);
    expect(again.creation).toBeUndefined();
    expect(again.hashes).toEqual(migrations.map((m) => m.hash));
  }, 60_000);

  it("is used only when its migrations are exactly the first ones of those to apply", () => {
    const hashes = migrations.map((m) => m.hash);
    const template = (list: string[]): EmbeddedTemplate => ({ archive: "-", migrations: list, source: "test" });
    expect(templateFits(template(hashes), migrations)).toBe(true);
    expect(templateFits(template(hashes.slice(0, 3)), migrations)).toBe(true);
    expect(templateFits(template([]), migrations)).toBe(true);
    // More than the program has (a MIGRATIONS_DIR that stops earlier), or one edited or renumbered: not used.
    expect(templateFits(template(hashes), migrations.slice(0, 3))).toBe(false);
    expect(templateFits(template([...hashes.slice(0, 2), "edited", ...hashes.slice(3)]), migrations)).toBe(false);
  });

  it("makes a database again whose creation was interrupted, and leaves a finished one alone", () => {
    const dataDir = join(scratch, "interrupted");
    const databaseDir = join(dataDir, "pglite");
    mkdirSync(databaseDir, { recursive: true });
    // Killed half-way through unpacking: PG_VERSION is there, the rest is not.
    writeFileSync(join(dataDir, "pglite.creating"), "");
    writeFileSync(join(databaseDir, "PG_VERSION"), "17\n");
    writeFileSync(join(databaseDir, "half-written"), "x");
    const template = readTemplate(behind);
    const prepared = prepareDataDir(dataDir, databaseDir, migrations, template);
    expect(prepared.creation).toMatchObject({ from: "template" });
    expect(existsSync(join(databaseDir, "half-written"))).toBe(false);
    expect(existsSync(join(databaseDir, "global", "pg_control"))).toBe(true);
    prepared.created();
    expect(existsSync(join(dataDir, "pglite.creating"))).toBe(false);
    expect(prepareDataDir(dataDir, databaseDir, migrations, template).creation).toBeUndefined();
  });

  it("creates without a template when none fits, saying it takes longer", () => {
    const dataDir = join(scratch, "no-template");
    const prepared = prepareDataDir(dataDir, join(dataDir, "pglite"), migrations.slice(0, 2), readTemplate(behind));
    expect(prepared.creation).toEqual({ from: "initdb" });
  });
});

describe("one process per DATA_DIR", () => {
  it("refuses to open an embedded database that is already open, and opens it once it is closed", async () => {
    const dataDir = join(scratch, "locked");
    const template = readTemplate(behind);
    const first = openDatabase({ poolSize: 1, dataDir, template });
    await first.migrate();
    expect(() => openDatabase({ poolSize: 1, dataDir, template })).toThrow(DataDirInUseError);
    await first.close();
    const second = openDatabase({ poolSize: 1, dataDir, template });
    await second.ping();
    await second.close();
  }, 60_000);
});

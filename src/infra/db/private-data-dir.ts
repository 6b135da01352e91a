import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** What Kicks keeps in DATA_DIR: the embedded database, the generated JWT secret and the lock of the process using it. */
const OWN_ENTRIES = new Set(["pglite", "jwt-secret", "kicks.lock"]);

/**
 * The embedded database's files are the shop's books and DATA_DIR holds the generated JWT secret: only the
 * account that runs Kicks may read or change them. Creates `dataDir` as 0700 and takes every group and other
 * permission off what Kicks keeps there (an older version, or a umask of 000, left files 0666). DATA_DIR itself
 * is made 0700 only while it holds nothing but Kicks' own entries: pointed at a directory with other files
 * (`.`, `/tmp`), those are not ours to lock away. Run again once the database is open (PGlite sets modes of
 * its own, 0666); files it creates later sit inside a 0700 directory that nobody else can enter.
 */
export function makeDataDirPrivate(dataDir: string): void {
  const created = !existsSync(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const entries = readdirSync(dataDir);
  if (created || entries.every((entry) => OWN_ENTRIES.has(entry))) restrict(dataDir, false);
  for (const entry of entries) if (OWN_ENTRIES.has(entry)) restrict(join(dataDir, entry), true);
}

function restrict(path: string, recursive: boolean): void {
  const stats = lstatSync(path);
  // A symbolic link's own mode means nothing, and following it could reach files outside DATA_DIR.
  if (stats.isSymbolicLink()) return;
  if ((stats.mode & 0o077) !== 0) chmodSync(path, stats.mode & 0o700);
  if (recursive && stats.isDirectory()) for (const entry of readdirSync(path)) restrict(join(path, entry), true);
}

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Extension } from "@electric-sql/pglite";
// PGlite's contrib modules find their bundle beside their own module file, which a `bun build --compile` binary
// does not have. Imported as files, the bundles are embedded in the binary (a /$bunfs/ path) or, under `bun`, read
// from node_modules. The package does not export the archives, hence the relative path.
import pgTrgmBundle from "../../../node_modules/@electric-sql/pglite/dist/pg_trgm.tar.gz" with { type: "file" };

const isEmbeddedInBinary = (path: string) => path.startsWith("/$bunfs/");

/** A PGlite extension whose files come from `bundle`, a path given by a `type: "file"` import. */
function bundledExtension(name: string, bundle: string): Extension {
  return {
    name,
    async setup() {
      if (!isEmbeddedInBinary(bundle)) return { bundlePath: pathToFileURL(bundle) };
      // PGlite streams the archive with fs.createReadStream, which cannot open a file embedded in a compiled
      // binary yet (oven-sh/bun#22223; readFile can). So it gets a private copy, gone once the database is up.
      const dir = await mkdtemp(join(tmpdir(), "kicks-pglite-"));
      const copy = join(dir, basename(bundle));
      await Bun.write(copy, Bun.file(bundle));
      const removeCopy = () => rm(dir, { recursive: true, force: true });
      return { bundlePath: pathToFileURL(copy), init: removeCopy, close: removeCopy };
    },
  };
}

/**
 * Extensions the embedded database can `CREATE EXTENSION`. Only their files are loaded here; migrations decide
 * which ones a database uses, exactly as on a PostgreSQL server.
 */
export const embeddedExtensions = {
  pg_trgm: bundledExtension("pg_trgm", pgTrgmBundle),
};

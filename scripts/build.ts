// `bun run build [outfile]`: Kicks as one self-contained executable (default dist/kicks). Everything it needs at run
// time is inside: the server, the migrations (a macro inlines drizzle/), PGlite's WebAssembly and extension bundles
// and Scalar's script (`type: "file"` imports), and the embedded database's template (a first embedded start
// unpacks it instead of running initdb and every migration). It runs on a machine with no Bun, node_modules or
// drizzle/ folder.
import { rmSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { ensureTemplate } from "./embedded-template";

const ROOT = join(import.meta.dir, "..");
const outfile = resolve(process.argv[2] ?? join(ROOT, "dist/kicks"));

// A Worker thread's script is only inside the executable when it is an entry point of its own: every
// src/workers/**/worker.ts is one, so a new worker needs no change here. Inside, it sits at its path from the
// repository root (`root` below) beside Bun.main, while every module's import.meta.url is the executable itself;
// docs/deploy.md ("Worker threads") shows the line that starts one both under `bun` and compiled.
const workers = [...new Bun.Glob("src/workers/**/worker.ts").scanSync({ cwd: ROOT })].sort();

// Made from the same drizzle/ the migrations macro compiles in, so the binary's template always fits its migrations
// (src/infra/db/embedded/template.ts finds it among Bun.embeddedFiles). A non-script entry point is embedded as is.
const template = await ensureTemplate();

const result = await Bun.build({
  entrypoints: [...["src/index.ts", ...workers].map((entry) => join(ROOT, entry)), template],
  root: ROOT,
  compile: {
    outfile,
    // Configuration is the environment (and .env, as under `bun`); a bunfig.toml lying in the working directory
    // must not change how a deployed binary runs.
    autoloadBunfig: false,
  },
  minify: true,
  // Parsed at build time instead of at every start: `kicks --version` takes ~60 ms instead of ~160 ms.
  bytecode: true,
  format: "esm",
  // Embedded, so stack traces in the logs name source files and lines.
  sourcemap: "linked",
});
if (!result.success) {
  for (const message of result.logs) console.error(message);
  process.exit(1);
}
// The maps are inside the executable too (one per entry point: the binary's and each worker's); the copies written
// beside it would only suggest it needs company.
for (const output of result.outputs) {
  if (output.path.endsWith(".map")) rmSync(output.path, { force: true });
}

const mebibytes = (statSync(outfile).size / 1024 / 1024).toFixed(1);
const built = relative(process.cwd(), outfile);
console.log(`built ${built} (${mebibytes} MiB; worker entry points: ${workers.join(", ") || "none"})`);

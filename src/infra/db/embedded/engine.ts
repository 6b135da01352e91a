import { readFileSync } from "node:fs";
import type { PGliteOptions } from "@electric-sql/pglite";
import initdbWasm from "@electric-sql/pglite/initdb.wasm" with { type: "file" };
import fsBundle from "@electric-sql/pglite/pglite.data" with { type: "file" };
import pgliteWasm from "@electric-sql/pglite/pglite.wasm" with { type: "file" };
import { embeddedExtensions } from "../embedded-extensions";

export interface EmbeddedEngine {
  /** What every PGlite of this program is built with (a data directory is added per database). */
  readonly options: Pick<PGliteOptions, "pgliteWasmModule" | "initdbWasmModule" | "fsBundle" | "extensions">;
  /** Names this exact PostgreSQL build: a data directory template made by another build is not used. */
  readonly fingerprint: string;
}

let engine: EmbeddedEngine | undefined;

/**
 * PGlite locates its WebAssembly and file-system bundle relative to its own module, which does not exist inside a
 * `bun build --compile` binary; importing them as files embeds them and hands PGlite the bytes. Compiled once per
 * process (about a third of a second here, more on a busy machine) and shared by every database it opens.
 */
export function embeddedEngine(): EmbeddedEngine {
  if (engine) return engine;
  const wasm = readFileSync(pgliteWasm);
  engine = {
    options: {
      pgliteWasmModule: new WebAssembly.Module(wasm),
      initdbWasmModule: new WebAssembly.Module(readFileSync(initdbWasm)),
      fsBundle: Bun.file(fsBundle),
      extensions: embeddedExtensions,
    },
    fingerprint: Bun.hash(wasm).toString(36),
  };
  return engine;
}

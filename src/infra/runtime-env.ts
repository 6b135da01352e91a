/**
 * The environment of the Bun runtime itself, which it reads before any of our code runs: set where the process
 * starts (the Dockerfile's runtime stage, `bun run start`, the bench's server), never from here. Held to those
 * places by test/unit/deployment-files.test.ts.
 *
 * `BUN_JSC_forceRAMSize`: JavaScriptCore sizes its heap (how much garbage may pile up before a collection) by the
 * machine's RAM, and in a container that is the host's (24 GB on the bench machine), not the container's limit.
 * Telling it 1 GiB keeps a serving process's heap near its live size: peak RSS under the bench's reads fell from
 * 174–203 to 145–171 MB (the uncached list's from 287 to 210–219), for ~0.5 µs more collector work per cached
 * read (docs/performance.md, Memory). An operator whose container may use more sets it to that limit.
 */
export const RUNTIME_ENV: Readonly<Record<string, string>> = {
  BUN_JSC_forceRAMSize: String(1024 * 1024 * 1024),
};

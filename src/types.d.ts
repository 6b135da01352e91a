/** Lua scripts live in .lua files and are bundled as text (`import script from "./x.lua" with { type: "text" }`). */
declare module "*.lua" {
  const source: string;
  export default source;
}

/** PGlite's runtime assets, imported `with { type: "file" }` so `bun build --compile` embeds them (a path). */
declare module "@electric-sql/pglite/pglite.wasm" {
  const path: string;
  export default path;
}
declare module "@electric-sql/pglite/initdb.wasm" {
  const path: string;
  export default path;
}
declare module "@electric-sql/pglite/pglite.data" {
  const path: string;
  export default path;
}
/** PGlite extension bundles, imported `with { type: "file" }` for the same reason (see embedded-extensions.ts). */
declare module "*.tar.gz" {
  const path: string;
  export default path;
}
/** Word lists bundled as text (`import list from "./x.txt" with { type: "text" }`). */
declare module "*.txt" {
  const text: string;
  export default text;
}

/** Lua scripts live in .lua files and are bundled as text (`import script from "./x.lua" with { type: "text" }`). */
declare module "*.lua" {
  const source: string;
  export default source;
}

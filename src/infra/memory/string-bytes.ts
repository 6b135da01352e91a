/** Printable or not, every character of ASCII: a string of only these is stored one byte per character. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the whole ASCII range, controls included.
const NOT_ASCII = /[^\x00-\x7f]/;

/**
 * The bytes a string takes in memory, for the byte bounds of the in-process caches: JavaScriptCore stores a
 * string one byte per character when every character fits (Latin-1), else two. A page with one Korean
 * character is twice its length in bytes; counting by `length` would let a "32 MiB" cache hold 64. (Latin-1
 * letters beyond ASCII are counted as two: they may arrive as a two-byte string from a UTF-8 decoder.)
 */
export function stringBytes(value: string): number {
  return NOT_ASCII.test(value) ? value.length * 2 : value.length;
}

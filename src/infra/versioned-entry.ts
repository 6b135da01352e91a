/**
 * How a versioned cache entry is stored, in Redis (read by the Lua scripts too) and in process:
 * `<version>|<body>`, or `<version>|` for a tombstone left by an invalidation.
 */
export const versionedEntry = (version: number, body: string) => `${version}|${body}`;

export function parseVersioned(entry: string): { body: string } | { floor: number } {
  const separator = entry.indexOf("|");
  if (separator === entry.length - 1) return { floor: Number(entry.slice(0, separator)) };
  return { body: entry.slice(separator + 1) };
}

export const versionOf = (entry: string) => Number(entry.slice(0, entry.indexOf("|")));

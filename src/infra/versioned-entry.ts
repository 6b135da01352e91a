/**
 * How a versioned cache entry is stored, in Redis (read by the Lua scripts too) and in process:
 * `<version>|<body>`, or `<version>|` for a tombstone left by an invalidation.
 */
export const versionedEntry = (version: number, body: string) => `${version}|${body}`;

export function parseVersioned(entry: string): { body: string; version: number } | { floor: number } {
  const separator = entry.indexOf("|");
  const version = Number(entry.slice(0, separator));
  if (separator === entry.length - 1) return { floor: version };
  return { body: entry.slice(separator + 1), version };
}

export const versionOf = (entry: string) => Number(entry.slice(0, entry.indexOf("|")));

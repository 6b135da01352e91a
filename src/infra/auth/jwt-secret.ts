import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeDataDirPrivate } from "../db/private-data-dir";

/**
 * Embedded mode has no shared secret to agree on, so one is generated once and kept beside the data,
 * letting tokens survive restarts. (With DATABASE_URL, config demands an explicit JWT_SECRET.)
 */
export function embeddedJwtSecret(dataDir: string): string {
  const file = join(dataDir, "jwt-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  makeDataDirPrivate(dataDir);
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");
  writeFileSync(file, secret, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

// `bun run invariants`: checks that the books balance on the configured database (stock, reservations, sales,
// coupons, refunds held past their lease, one refund per keyed request), printing each violation as a JSON line.
// Exit status 1 when any is found, so a scheduler can alert.
import { ConfigError, loadConfig } from "../infra/config";
import { openDatabase } from "../infra/db/client";
import { checkInvariants } from "../infra/db/invariants";

try {
  const config = loadConfig();
  const database = openDatabase({ url: config.DATABASE_URL, poolSize: 1, dataDir: config.DATA_DIR });
  const violations = await checkInvariants(database.db);
  await database.close();
  for (const violation of violations) console.log(JSON.stringify(violation));
  console.log(violations.length === 0 ? "invariants hold" : `${violations.length} violation(s)`);
  process.exit(violations.length === 0 ? 0 : 1);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(2);
}

// `bun run db:migrate`: applies the committed migrations to DATABASE_URL (or the embedded database) and exits.
import { ConfigError, loadConfig } from "../config";
import { openDatabase } from "./client";

try {
  const config = loadConfig();
  const database = openDatabase({
    url: config.DATABASE_URL,
    poolSize: 1,
    dataDir: config.DATA_DIR,
    migrationsDir: config.MIGRATIONS_DIR,
  });
  await database.migrate();
  await database.close();
  console.log(`migrations applied (${database.kind})`);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}

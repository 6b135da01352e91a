// Loaded once per `bun test` run (bunfig.toml): provisions this run's database and Redis prefix.
import { afterAll } from "bun:test";
import { openDatabase } from "../../src/infra/db/client";
import { startTestServices } from "./test-services";

const services = await startTestServices();
const migrationsDir = `${import.meta.dir}/../../drizzle`;
// Embedded mode: one in-memory PGlite shared by every test file of the run.
const embedded = services.databaseUrl ? undefined : openDatabase({ poolSize: 1, migrationsDir });
const migrator = embedded ?? openDatabase({ url: services.databaseUrl, poolSize: 1, migrationsDir });
await migrator.migrate();
if (!embedded) await migrator.close();

globalThis.kicksTest = { services, embedded, migrationsDir };
console.log(
  `[test] mode=${services.mode} database=${services.databaseUrl ? "postgresql (fresh database)" : "embedded PGlite"} redis=${
    services.redisUrl ? `yes (prefix ${services.redisKeyPrefix})` : "none: Redis tests are skipped"
  }`,
);

afterAll(async () => {
  await embedded?.close();
  await services.teardown();
});

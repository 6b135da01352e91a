// `bun run invariants`: checks that the books balance on the configured database (stock, reservations, sales,
// coupons, refunds held past their lease, one refund per keyed request, each landed refund credited once,
// returns awaited exactly for orders refunded after they shipped), and with REDIS_URL that no coupon's
// limited-issue state in Redis is behind PostgreSQL, printing each violation as a JSON line. Exit status 1 when
// any is found, so a scheduler can alert; 2 when it could not check (see command.ts).
import { loadConfig } from "../infra/config";
import { openDatabase } from "../infra/db/client";
import { checkInvariants } from "../infra/db/invariants";
import { checkCouponStates } from "../infra/redis/coupons/coupon-state-check";
import { createRedis } from "../infra/redis/redis-client";
import { runCommand } from "./command";

await runCommand(async () => {
  const config = loadConfig();
  const database = openDatabase({ url: config.DATABASE_URL, poolSize: 1, dataDir: config.DATA_DIR });
  const violations = await checkInvariants(database.db);
  if (config.REDIS_URL) {
    const redis = createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX);
    try {
      violations.push(...(await checkCouponStates({ db: database.db, redis })));
    } finally {
      redis.disconnect();
    }
  }
  await database.close();
  for (const violation of violations) console.log(JSON.stringify(violation));
  console.log(violations.length === 0 ? "invariants hold" : `${violations.length} violation(s)`);
  return violations.length === 0 ? 0 : 1;
});

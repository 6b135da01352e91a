import { Counter } from "prom-client";
import { BalanceService, jitteredBackoff } from "../domain/balances/balance-service";
import { IdempotencyService } from "../domain/idempotency/idempotency-service";
import { UserService } from "../domain/users/user-service";
import { JwtAccessTokens } from "../infra/auth/access-tokens";
import { argon2Passwords } from "../infra/auth/passwords";
import { CachedTokenStates } from "../infra/auth/token-states";
import { DrizzleBalanceRepository } from "../infra/db/repositories/balance-repository";
import { DrizzleIdempotencyRepository } from "../infra/db/repositories/idempotency-repository";
import { DrizzleUserRepository } from "../infra/db/repositories/user-repository";
import { RedisInvalidations } from "../infra/redis/redis-invalidations";
import type { Infrastructure } from "./infrastructure";

/** Users, tokens, prepaid balances and idempotency keys: the foundation every other context uses. */
export function wireAccounts(infra: Infrastructure) {
  const { config, transactions, unitOfWork, counters, clock, newId, secret, metrics, redis, logger } = infra;
  const balanceRepository = new DrizzleBalanceRepository(transactions);
  const userRepository = new DrizzleUserRepository(transactions);
  const tokens = new JwtAccessTokens(secret, config.JWT_EXPIRES_IN_SECONDS);
  // Revocations reach the other instances' copies through Redis; alone, there is nobody else to tell.
  const invalidations = redis
    ? new RedisInvalidations(redis, `${config.REDIS_KEY_PREFIX}token-states`, logger)
    : undefined;
  if (invalidations) infra.closers.push(() => invalidations.close());
  const tokenStates = new CachedTokenStates(userRepository, config.TOKEN_STATE_CACHE_MS, invalidations);
  // A plain hash of an email can be reversed with a list of addresses; an HMAC with our secret cannot.
  const pseudonymise = (email: string) =>
    new Bun.CryptoHasher("sha256", `login-throttle:${secret}`).update(email).digest("hex");
  const balanceRetries = new Counter({
    name: "balance_update_conflicts_total",
    help: "Optimistic balance updates that lost a race and were retried",
    registers: [metrics.registry],
  });

  return {
    tokens,
    users: new UserService({
      users: userRepository,
      balances: balanceRepository,
      unitOfWork,
      passwords: argon2Passwords,
      tokens,
      tokenStates,
      counters,
      pseudonymise,
      newId,
    }),
    balances: new BalanceService({
      balances: balanceRepository,
      newId,
      backoff: (attempt) => {
        balanceRetries.inc();
        return jitteredBackoff(attempt);
      },
    }),
    idempotency: new IdempotencyService(new DrizzleIdempotencyRepository(transactions), unitOfWork, clock),
  };
}

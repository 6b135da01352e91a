import { BalanceService, jitteredBackoff } from "../domain/balances/balance-service";
import { IdempotencyService } from "../domain/idempotency/idempotency-service";
import { UserService } from "../domain/users/user-service";
import { JwtAccessTokens } from "../infra/auth/access-tokens";
import { AdmissionLimitedHasher, argon2Passwords } from "../infra/auth/passwords";
import { CachedTokenStates } from "../infra/auth/token-states";
import { ClientAddresses } from "../infra/client-addresses";
import { balanceMetrics } from "../infra/metrics/accounts";
import { RedisInvalidations } from "../infra/redis/redis-invalidations";
import type { Infrastructure } from "./infrastructure";

/** Users, tokens, prepaid balances and idempotency keys: the foundation every other context uses. */
export function wireAccounts(infra: Infrastructure) {
  const { config, repositories, unitOfWork, counters, clock, newId, secret, metrics, redis, logger } = infra;
  const { users: userRepository, balances: balanceRepository } = repositories;
  const tokens = new JwtAccessTokens(secret, config.JWT_EXPIRES_IN_SECONDS);
  // Revocations reach the other instances' copies through Redis; alone, there is nobody else to tell.
  const invalidations = redis
    ? new RedisInvalidations(redis, `${config.REDIS_KEY_PREFIX}token-states`, logger)
    : undefined;
  if (invalidations) infra.closers.push(() => invalidations.close());
  const tokenStates = new CachedTokenStates(userRepository, config.TOKEN_STATE_CACHE_MS, invalidations);
  // A plain hash of an email can be reversed with a list of addresses; an HMAC with our secret cannot.
  const pseudonymise = (text: string) =>
    new Bun.CryptoHasher("sha256", `login-throttle:${secret}`).update(text).digest("hex");
  // Argon2id costs memory and a thread each: a flood of sign-ups and logins waits in a bounded line, then is
  // refused (503 + Retry-After), instead of queueing every real login behind it.
  const passwords = new AdmissionLimitedHasher(argon2Passwords, {
    concurrency: config.PASSWORD_HASH_CONCURRENCY,
    queue: config.PASSWORD_HASH_QUEUE,
  });
  const balanceObserver = balanceMetrics(metrics.registry);

  return {
    tokens,
    clientAddresses: new ClientAddresses(config.TRUSTED_PROXIES),
    users: new UserService({
      users: userRepository,
      balances: balanceRepository,
      unitOfWork,
      passwords,
      tokens,
      tokenStates,
      counters,
      pseudonymise,
      failedLoginsPerAddress: config.LOGIN_FAILURES_PER_ADDRESS,
      newId,
    }),
    balances: new BalanceService({
      balances: balanceRepository,
      newId,
      backoff: (attempt) => {
        balanceObserver.conflict();
        return jitteredBackoff(attempt, clock);
      },
    }),
    idempotency: new IdempotencyService(repositories.idempotency, unitOfWork, clock),
  };
}

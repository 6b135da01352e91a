import type Redis from "ioredis";
import type { Lock, LockManager } from "../../domain/shared/ports";
import releaseLockScript from "./release-lock.lua" with { type: "text" };

export class RedisLocks implements LockManager {
  constructor(private readonly redis: Redis) {}

  async tryAcquire(name: string, ttlMs: number): Promise<Lock | undefined> {
    const key = `lock:${name}`;
    const token = crypto.randomUUID();
    const acquired = await this.redis.set(key, token, "PX", ttlMs, "NX");
    if (acquired !== "OK") return undefined;
    return {
      release: async () => {
        await this.redis.eval(releaseLockScript, 1, key, token);
      },
    };
  }
}

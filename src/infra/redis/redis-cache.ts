import type Redis from "ioredis";
import type { Cache } from "../../domain/shared/ports";

export class RedisCache implements Cache {
  constructor(private readonly redis: Redis) {}

  async get<T>(key: string): Promise<T | undefined> {
    const json = await this.redis.get(`cache:${key}`);
    return json === null ? undefined : (JSON.parse(json) as T);
  }

  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    await this.redis.set(`cache:${key}`, JSON.stringify(value), "EX", ttlSeconds);
  }

  async delete(...keys: string[]): Promise<void> {
    if (keys.length > 0) await this.redis.del(...keys.map((key) => `cache:${key}`));
  }
}

import type Redis from "ioredis";
import { type Announcement, type Cache, CacheUnavailable, type VersionedCache } from "../../domain/shared/ports";
import { parseVersioned } from "../versioned-entry";
import putIfNewerScript from "./put-if-newer.lua" with { type: "text" };

interface CacheCommands {
  putIfNewer(
    key: string,
    version: number,
    body: string,
    ttlSeconds: number,
    ...announcement: [channel: string, message: string] | []
  ): Promise<number>;
}

/** Connection states in which a command would only wait in ioredis' queue for a reconnect. */
const DOWN = new Set(["reconnecting", "close", "end"]);

/**
 * Cache entries in Redis under `cache:`, shared by every instance. While the connection is down the
 * adapter refuses at once (CacheUnavailable) instead of queueing behind reconnect attempts, so a Redis
 * outage costs readers nothing but the cache.
 */
export class RedisCache implements Cache, VersionedCache {
  readonly #redis: Redis & CacheCommands;

  constructor(redis: Redis) {
    // EVALSHA of a script loaded once (ioredis falls back to EVAL when Redis lost it).
    redis.defineCommand("putIfNewer", { numberOfKeys: 1, lua: putIfNewerScript });
    this.#redis = redis as Redis & CacheCommands;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#ready().get(`cache:${key}`)) ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.#ready().set(`cache:${key}`, value, "EX", ttlSeconds);
  }

  async delete(...keys: string[]): Promise<void> {
    if (keys.length > 0) await this.#ready().del(...keys.map((key) => `cache:${key}`));
  }

  async getVersioned(key: string) {
    const entry = await this.#ready().get(`cache:${key}`);
    return entry === null ? undefined : parseVersioned(entry);
  }

  async putIfNewer(key: string, version: number, body: string, ttlSeconds: number): Promise<boolean> {
    return (await this.#ready().putIfNewer(`cache:${key}`, version, body, ttlSeconds)) === 1;
  }

  async invalidate(key: string, version: number, ttlSeconds: number, announcement?: Announcement): Promise<boolean> {
    // The announcement goes out on this connection only if it is the one the near cache listens through.
    const announce = announcement?.via === this.#redis;
    const publish: [string, string] | [] = announce && announcement ? [announcement.channel, announcement.message] : [];
    await this.#ready().putIfNewer(`cache:${key}`, version, "", ttlSeconds, ...publish);
    return announce;
  }

  #ready(): Redis & CacheCommands {
    if (DOWN.has(this.#redis.status)) throw new CacheUnavailable(`Redis connection is ${this.#redis.status}`);
    return this.#redis;
  }
}

import type Redis from "ioredis";
import type { Counters, WindowCount } from "../../domain/shared/ports";
import decrementWindowScript from "./decrement-window.lua" with { type: "text" };
import incrementWindowScript from "./increment-window.lua" with { type: "text" };

const toWindowCount = (count: number, msLeft: number): WindowCount => ({
  count,
  resetsInSeconds: msLeft > 0 ? Math.ceil(msLeft / 1000) : 0,
});

export class RedisCounters implements Counters {
  constructor(private readonly redis: Redis) {}

  async increment(key: string, windowSeconds: number, by = 1): Promise<WindowCount> {
    const [count, msLeft] = (await this.redis.eval(
      incrementWindowScript,
      1,
      `counter:${key}`,
      windowSeconds * 1000,
      by,
    )) as [number, number];
    return toWindowCount(count, msLeft);
  }

  async decrement(key: string): Promise<void> {
    await this.redis.eval(decrementWindowScript, 1, `counter:${key}`);
  }

  async get(key: string): Promise<WindowCount> {
    const [[, count], [, msLeft]] = (await this.redis.multi().get(`counter:${key}`).pttl(`counter:${key}`).exec()) as [
      [null, string | null],
      [null, number],
    ];
    return toWindowCount(Number(count ?? 0), msLeft);
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(`counter:${key}`);
  }
}

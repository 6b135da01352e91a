import type Redis from "ioredis";
import type { Invalidations } from "../auth/token-states";
import type { Logger } from "../logger";

/**
 * Invalidation messages between instances over Redis pub/sub, on a connection of their own (a subscribed
 * connection can do nothing else). Channels are not keys, so the deployment's prefix is added here. A message
 * missed while Redis is away costs at most the copies' TTL.
 */
export class RedisInvalidations implements Invalidations {
  readonly #subscriber: Redis;
  readonly #handlers: ((message: string) => void)[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {
    this.#subscriber = redis.duplicate();
    this.#subscriber.on("error", () => {}); // the main connection logs Redis being away
    this.#subscriber.on("message", (from: string, message: string) => {
      if (from === channel) for (const handler of this.#handlers) handler(message);
    });
    this.#subscriber.subscribe(channel).catch((err) => logger.warn({ err, channel }, "redis subscribe failed"));
  }

  async publish(message: string): Promise<void> {
    try {
      await this.redis.publish(this.channel, message);
    } catch (err) {
      // The revocation is in the database; other instances see it once their copy expires.
      this.logger.warn({ err, channel: this.channel }, "redis publish failed");
    }
  }

  onMessage(handler: (message: string) => void): void {
    this.#handlers.push(handler);
  }

  async close(): Promise<void> {
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect());
  }
}

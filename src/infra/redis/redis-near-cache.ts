import type Redis from "ioredis";
import { LRUCache } from "lru-cache";
import type { VersionedNearCache } from "../../domain/shared/cache-aside";
import { type Announcement, CacheUnavailable } from "../../domain/shared/ports";
import type { Logger } from "../logger";

/** Bounds of the copies: entries and bytes (a product page is ~1 kB, a model page a few). */
export const NEAR_CACHE_MAX_ENTRIES = 10_000;
export const NEAR_CACHE_MAX_BYTES = 32 * 1024 * 1024;
/** Invalidation counters by a hash of the key: fixed memory, and a collision only costs a copy not kept. */
const STAMP_BUCKETS = 4096;
/** The subscriber is pinged this often; two missed answers in a row count as a lost connection. */
const HEARTBEAT_MS = 1000;

interface Copy {
  version: number;
  body: string;
  expiresAt: number;
}

interface Ticket {
  epoch: number;
  bucket: number;
  stamp: number;
}

export type ChannelState = "live" | "down";

/**
 * Near copies of product and model pages in each process, kept exact across instances by a Redis pub/sub
 * channel carrying `<version> <key>` for every committed change (published after the shared entry became a
 * tombstone), received on a connection of its own (a subscribed connection can do nothing else).
 *
 * - A copy is kept only if no invalidation of its key arrived between the moment its read began and now
 *   (counters per key hash, bumped by every invalidation, local or received), so a read of the shared cache that
 *   raced a change cannot put the old page back. A message names the version it invalidates: a copy already at
 *   that version or newer (read after the change) stays.
 * - Pub/sub delivers at most once: a message sent while the subscriber is away is lost. So the copies are only
 *   used while the channel is live: when the subscriber's connection closes, or stops answering pings, every
 *   copy is dropped and none is served or kept (reads go to Redis, as before) until it has subscribed again.
 *   Copies expire with the TTL of the entry they copy, too.
 */
export class RedisNearCache implements VersionedNearCache {
  readonly #copies = new LRUCache<string, Copy>({
    max: NEAR_CACHE_MAX_ENTRIES,
    maxSize: NEAR_CACHE_MAX_BYTES,
    sizeCalculation: (copy, key) => copy.body.length + key.length + 64,
  });
  readonly #stamps = new Uint32Array(STAMP_BUCKETS);
  readonly #subscriber: Redis;
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #listeners: ((state: ChannelState) => void)[] = [];
  /** Moves on whenever the channel goes down or comes back: a read that began in another epoch keeps nothing. */
  #epoch = 0;
  #live = false;
  #closed = false;
  #pingOutstandingSince: number | undefined;
  #drops = 0;
  readonly connectionName: string;

  constructor(
    private readonly redis: Redis,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {
    // Named, so an operator (and a test) can tell it in CLIENT LIST; unique per process and per container.
    this.connectionName = `${channel}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`.replace(/\s/g, "_");
    this.#subscriber = redis.duplicate({
      // We subscribe again ourselves on every `ready`, and only then trust the channel.
      autoResubscribe: false,
      connectionName: this.connectionName,
    });
    this.#subscriber.on("error", () => {}); // the main connection logs Redis being away
    this.#subscriber.on("ready", () => void this.#subscribe());
    for (const event of ["close", "end", "reconnecting"]) this.#subscriber.on(event, () => this.#down());
    this.#subscriber.on("message", (from: string, message: string) => {
      if (from === channel) this.#receive(message);
    });
    this.#heartbeat = setInterval(() => this.#checkHeartbeat(), HEARTBEAT_MS);
    this.#heartbeat.unref?.();
  }

  get state(): ChannelState {
    return this.#live ? "live" : "down";
  }

  /** How many times the channel was lost since start (each dropped every copy). */
  get drops(): number {
    return this.#drops;
  }

  get size(): number {
    return this.#copies.size;
  }

  onStateChange(listener: (state: ChannelState) => void): void {
    this.#listeners.push(listener);
  }

  get(key: string): string | undefined {
    if (!this.#live) return undefined;
    const copy = this.#copies.get(key);
    if (copy === undefined) return undefined;
    if (copy.expiresAt > Date.now()) return copy.body;
    this.#copies.delete(key);
    return undefined;
  }

  ticket(key: string): Ticket | undefined {
    if (!this.#live) return undefined;
    const bucket = bucketOf(key);
    return { epoch: this.#epoch, bucket, stamp: this.#stamps[bucket] as number };
  }

  keep(key: string, version: number, body: string, ticket: object | undefined, ttlSeconds: number): void {
    const taken = ticket as Ticket | undefined;
    if (!taken || !this.#live || taken.epoch !== this.#epoch || this.#stamps[taken.bucket] !== taken.stamp) return;
    const held = this.#copies.get(key);
    if (held && held.version > version) return;
    this.#copies.set(key, { version, body, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  forget(key: string, version: number): void {
    this.#invalidate(key, version);
  }

  async announce(key: string, version: number): Promise<void> {
    // As RedisCache: while the connection is down a command would only wait for a reconnect. The tombstone
    // could not be written either, and the other instances, cut off too, have dropped their copies.
    if (this.redis.status !== "ready") throw new CacheUnavailable(`Redis connection is ${this.redis.status}`);
    await this.redis.publish(this.channel, `${version} ${key}`);
  }

  announcement(key: string, version: number): Announcement | undefined {
    if (this.redis.status !== "ready") return undefined;
    return { channel: this.channel, message: `${version} ${key}`, via: this.redis };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#down();
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect());
  }

  #receive(message: string): void {
    const space = message.indexOf(" ");
    const version = Number(message.slice(0, space));
    if (space <= 0 || !Number.isFinite(version)) return;
    this.#invalidate(message.slice(space + 1), version);
  }

  #invalidate(key: string, version: number): void {
    const bucket = bucketOf(key);
    this.#stamps[bucket] = ((this.#stamps[bucket] as number) + 1) >>> 0;
    const held = this.#copies.peek(key);
    if (held && held.version < version) this.#copies.delete(key);
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.channel);
    } catch (err) {
      if (!this.#closed) this.logger.warn({ err, channel: this.channel }, "near cache: subscribe failed");
      return;
    }
    if (this.#closed || this.#subscriber.status !== "ready") return;
    // Whatever was kept before is from before the gap: start empty.
    this.#copies.clear();
    this.#epoch++;
    this.#live = true;
    this.#pingOutstandingSince = undefined;
    for (const listener of this.#listeners) listener("live");
  }

  #down(): void {
    const wasLive = this.#live;
    this.#live = false;
    this.#epoch++;
    this.#copies.clear();
    this.#pingOutstandingSince = undefined;
    if (!wasLive) return;
    this.#drops++;
    if (!this.#closed)
      this.logger.warn({ channel: this.channel }, "near cache: invalidation channel lost; reading through");
    for (const listener of this.#listeners) listener("down");
  }

  /** A connection that silently stopped (no FIN, a stalled proxy) looks alive to the socket: ask it. */
  #checkHeartbeat(): void {
    if (!this.#live) return;
    const now = Date.now();
    if (this.#pingOutstandingSince !== undefined) {
      if (now - this.#pingOutstandingSince < 2 * HEARTBEAT_MS) return;
      this.#down();
      this.#subscriber.disconnect(true);
      return;
    }
    this.#pingOutstandingSince = now;
    this.#subscriber
      .ping()
      .then(() => {
        this.#pingOutstandingSince = undefined;
      })
      .catch(() => {});
  }
}

const bucketOf = (key: string) => Bun.hash.crc32(key) & (STAMP_BUCKETS - 1);

import {
  AUTH_EPOCH_KEY,
  AUTH_INVALIDATION_CHANNEL,
  createRedis,
  type Logger,
  type PublishedAuthInvalidation,
  parseAuthInvalidation,
  type Redis,
  redisChannel,
} from "@sprintconnect/core";
import type { AuthCache } from "./auth-cache";

/**
 * The gateway's subscription to authentication invalidations: applies each to the cache, then
 * tells the listeners (open subscription connections re-check their credentials). One Redis
 * connection in subscriber mode per gateway.
 */
export class AuthInvalidations {
  private readonly listeners = new Set<(invalidation: PublishedAuthInvalidation) => void>();
  private subscriber: Redis | null = null;

  constructor(
    private readonly cache: AuthCache,
    private readonly logger: Logger,
  ) {}

  /**
   * Subscribes, then starts the cache from the current epoch: every later invalidation reaches
   * it. If Redis is down the cache stays unused (every request reads the database) until the
   * connection is ready and this succeeds.
   */
  async start(redisUrl: string, commands: Redis): Promise<void> {
    const subscriber = createRedis(redisUrl, "gateway-auth-invalidations");
    this.subscriber = subscriber;
    let started = false;
    let starting: Promise<void> | null = null;
    const begin = () => {
      starting ??= (async () => {
        await subscriber.subscribe(redisChannel(subscriber, AUTH_INVALIDATION_CHANNEL));
        this.cache.start(Number((await commands.get(AUTH_EPOCH_KEY)) ?? 0));
        started = true;
      })()
        .catch((err: unknown) => this.logger.warn({ err }, "could not subscribe to auth invalidations"))
        .finally(() => {
          starting = null;
        });
      return starting;
    };
    subscriber.on("error", (err: Error) => this.logger.warn({ err }, "auth invalidation connection error"));
    subscriber.on("ready", () => {
      // Messages sent while the connection was down are lost: forget everything cached
      // (ioredis subscribes again by itself; the epoch tells requests what is still missing).
      if (started) this.cache.clear();
      else void begin();
    });
    subscriber.on("message", (_channel: string, message: string) => {
      const invalidation = parseAuthInvalidation(message);
      if (!invalidation) {
        this.logger.warn("ignored a malformed auth invalidation");
        return;
      }
      this.cache.apply(invalidation);
      for (const listener of this.listeners) listener(invalidation);
    });
    await begin();
  }

  /** Calls `listener` after each invalidation has been applied to the cache. */
  onInvalidation(listener: (invalidation: PublishedAuthInvalidation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.subscriber?.quit().catch(() => undefined);
    this.subscriber = null;
  }
}

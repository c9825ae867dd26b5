import { Redis } from "ioredis";
import { isDatabaseUnavailable } from "./db/unavailable";

export { Redis } from "ioredis";

/** An ioredis client. Commands fail fast while Redis is down rather than queueing forever. */
export function createRedis(url: string, connectionName: string): Redis {
  return new Redis(url, {
    connectionName,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}

/**
 * Whether `err` is ioredis giving up on a command because Redis could not be reached in time
 * (`MaxRetriesPerRequestError` after `maxRetriesPerRequest` reconnections, or a command aborted
 * when its connection closed): Redis is down or restarting, not the request wrong. The API
 * answers it with SERVICE_UNAVAILABLE and `retryAfter`, never INTERNAL.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // By name (ioredis does not export its error classes); an aborted command carries `command`,
  // which tells ioredis's AbortError from the DOM's.
  return err.name === "MaxRetriesPerRequestError" || (err.name === "AbortError" && "command" in err);
}

/**
 * Which dependency could not serve the request (`isDatabaseUnavailable`, `isRedisUnavailable`),
 * named for the caller's message ("The database is unavailable; retry later"), or null when
 * `err` is no such failure. The gateway and the subgraph kit answer it SERVICE_UNAVAILABLE with
 * `retryAfter` (`UNAVAILABLE_RETRY_AFTER_SECONDS`).
 */
export function unavailableDependency(err: unknown): "The database" | "Redis" | null {
  if (isDatabaseUnavailable(err)) return "The database";
  return isRedisUnavailable(err) ? "Redis" : null;
}

/**
 * Resolves once `redis` is ready (connected, past ioredis's handshake and ready check); rejects
 * when the connection is closed for good or not ready within `timeoutMs`. A subscriber
 * connection must wait for it before each (P)SUBSCRIBE and UNSUBSCRIBE: ioredis 5 writes those
 * at once while its handshake is still running (status `connect`), the connection enters
 * subscriber mode, the handshake's own ready check (INFO) is then refused, and ioredis drops
 * the connection and connects again, failing every command queued meanwhile (ioredis issue
 * #2037, fixed in ioredis 6). A burst of subscriptions on a new or reconnecting connection
 * kept hitting that window.
 */
export function whenReady(redis: Redis, timeoutMs = 5_000): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  if (redis.status === "end") return Promise.reject(new Error("The Redis connection is closed"));
  return new Promise<void>((resolve, reject) => {
    const settle = (err?: Error) => {
      clearTimeout(timer);
      redis.off("ready", onReady);
      redis.off("end", onEnd);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => settle();
    const onEnd = () => settle(new Error("The Redis connection is closed"));
    const timer = setTimeout(() => settle(new Error(`Redis was not ready within ${timeoutMs} ms`)), timeoutMs);
    redis.on("ready", onReady);
    redis.on("end", onEnd);
  });
}

/**
 * The name under which `redis` publishes or subscribes to channel `name`. Keys live in one of
 * Redis's numbered databases, but pub/sub channels are server-wide: two deployments on one Redis
 * server (say, databases 1 and 2) would hear each other's messages. A channel whose messages
 * must match the keys of its own database (the auth invalidations carry the epoch of a counter
 * in that database) would be fooled, so every channel is named with the database number of the
 * connection it is used on.
 */
export function redisChannel(redis: Redis, name: string): string {
  return `${name}@${redis.options.db ?? 0}`;
}

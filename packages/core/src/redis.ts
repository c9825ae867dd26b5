import { Redis } from "ioredis";

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

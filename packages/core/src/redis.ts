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

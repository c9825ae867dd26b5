import { randomUUID } from "node:crypto";
import type { Redis } from "@sprintconnect/core";

// Extend the lock only if we still hold it; release it only if we still hold it.
const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/**
 * Leadership through one Redis key with a TTL: whoever sets it leads until it stops renewing
 * it, so several schedulers can run and exactly one enqueues at a time.
 */
export class LeaderLock {
  readonly id = randomUUID();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ttlMs: number,
  ) {}

  /** Takes or keeps leadership; true while this instance leads. */
  async acquire(): Promise<boolean> {
    const renewed = (await this.redis.eval(RENEW, 1, this.key, this.id, String(this.ttlMs))) as number;
    if (renewed === 1) return true;
    return (await this.redis.set(this.key, this.id, "PX", this.ttlMs, "NX")) === "OK";
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.id);
  }
}

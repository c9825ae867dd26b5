import type { Redis } from "@sprintconnect/core";
import type BeeQueue from "bee-queue";

/**
 * A cap on the jobs of one group (e.g. one organization) running at once in one queue, across
 * every worker. Each running job holds a lease in a Redis sorted set (member: job id, score:
 * lease expiry), renewed while it runs, so a crashed worker's slots free themselves.
 */
export class GroupSlots {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limit: number,
    private readonly leaseMs = 30_000,
  ) {}

  /**
   * Runs `task` if the group has a free slot (or this job already holds one: a recovered
   * stalled job) and resolves to its result; resolves to `deferred` without running it otherwise.
   */
  async run<T>(queue: string, group: string, jobId: string, task: () => Promise<T>): Promise<T | typeof DEFERRED> {
    const key = `${this.prefix}:${queue}:running:${group}`;
    if (!(await this.acquire(key, jobId))) return DEFERRED;
    const renew = setInterval(() => {
      void this.redis
        .multi()
        .zadd(key, Date.now() + this.leaseMs, jobId)
        .pexpire(key, this.leaseMs)
        .exec()
        .catch(() => undefined);
    }, this.leaseMs / 3);
    renew.unref();
    try {
      return await task();
    } finally {
      clearInterval(renew);
      await this.redis.zrem(key, jobId).catch(() => undefined);
    }
  }

  private async acquire(key: string, jobId: string): Promise<boolean> {
    // One script, so two workers cannot both see the last free slot.
    const acquired = await this.redis.eval(
      `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
       if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
         redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[1])
         redis.call('PEXPIRE', KEYS[1], ARGV[3])
         return 1
       end
       return 0`,
      1,
      key,
      jobId,
      String(Date.now()),
      String(this.leaseMs),
      String(this.limit),
    );
    return acquired === 1;
  }
}

/** What `GroupSlots.run` resolves to when the group had no free slot. */
export const DEFERRED: unique symbol = Symbol("deferred");

/** How long a job whose group is at its cap waits before it is tried again. */
export const DEFER_MS = 1_000;

/** Bee-Queue backoff strategy name that re-queues a deferred job. */
const DEFER_STRATEGY = "sc-deferred";

/** Stack traces Bee-Queue keeps on a job: deferrals must not grow the stored job without end. */
const MAX_STACKTRACES = 5;

/** Thrown (to Bee-Queue) for a job put back by `deferJob`; not a failure of the job. */
export class JobDeferredError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} deferred: its group is at its concurrency cap`);
    this.name = "JobDeferredError";
    this.stack = this.message;
  }
}

/**
 * Teaches `queue` to put deferred jobs back: Bee-Queue's retry path re-queues a failed job
 * after its backoff delay, so a deferral is a "failure" with one extra retry (taken back by
 * the failure) and a one-off backoff that waits DEFER_MS, then restores the job's own backoff.
 */
export function enableDeferral(queue: BeeQueue): void {
  queue.backoffStrategies.set(DEFER_STRATEGY, (job) => {
    const options = job.options as {
      backoff: { delay: number; resume: unknown };
      stacktraces?: unknown[];
    };
    const { delay, resume } = options.backoff;
    (options as { backoff: unknown }).backoff = resume ?? undefined;
    options.stacktraces?.splice(MAX_STACKTRACES - 1);
    return delay;
  });
}

/** Marks `job` to be put back without using a retry; throw the returned error from the handler. */
export function deferJob(job: BeeQueue.Job<unknown>, delayMs = DEFER_MS): JobDeferredError {
  const options = job.options as { retries: number; backoff?: unknown };
  options.retries += 1;
  options.backoff = { strategy: DEFER_STRATEGY, delay: delayMs, resume: options.backoff ?? null };
  return new JobDeferredError(job.id);
}

import { asTraceCarrier, currentTraceCarrier, type Redis, tracingEnabled, withSpan } from "@sprintconnect/core";
import BeeQueue from "bee-queue";
import { type JobDefinition, type JobPayload, parsePayload } from "./define";
import { DEFERRED, deferJob, enableDeferral, GroupSlots, JobDeferredError } from "./group-slots";
import { reloadScripts, reloadScriptsWhenLost } from "./script-cache";

/**
 * Options of bee-queue's redis@3 clients. Reconnect every 200 ms–2 s (as our ioredis clients
 * do) for as long as Redis is away: by default redis@3 backs off without bound and gives up
 * for good after an hour of retries (`connect_timeout` counts them; 2^31-1 ms is the largest
 * timer Node accepts).
 */
const redisClientOptions = (url: string) => ({
  url,
  retry_strategy: ({ attempt }: { attempt: number }) => Math.min(attempt * 200, 2_000),
  connect_timeout: 2 ** 31 - 1,
});

export interface QueueOptions {
  redisUrl: string;
  /** Consumers set this; producers do not (they then open fewer connections). */
  isWorker: boolean;
  /** Key prefix in Redis. */
  prefix?: string;
  /** A job whose worker stops renewing its lock for this long is stalled and re-queued. */
  stallIntervalMs?: number;
  /** Overrides every job's first retry delay (tests use a short one). */
  retryBackoffMs?: number;
  /** Queue-level errors (Redis trouble, a job finishing after close); by default ignored. */
  onError?: (err: Error, queue: string) => void;
  /** Workers: cap on running jobs per group of a grouped job definition, counted in `redis`. */
  groupConcurrency?: { redis: Redis; limit: number };
}

/** What a handler learns about the job it runs, besides its payload. */
export interface JobInfo {
  id: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** When the job was created (ms since the epoch; retries keep the first). */
  enqueuedAt: number;
}

/** What a job's stored record carries besides Bee-Queue's own options. */
interface JobRecordOptions {
  /** W3C trace context of the enqueuer (traces, issue 10); absent when tracing is off or in older jobs. */
  trace?: unknown;
}

export interface EnqueueOptions {
  /** Entity id where duplicates would hurt; a job with a queued id is not queued again. */
  jobId?: string;
  /** Run no earlier than this (a scheduled retry); workers activate delayed jobs when due. */
  delayUntil?: Date;
}

/**
 * Bee-Queue queues, one per job definition. Payloads are validated when enqueued and again
 * when processed. bee-queue uses its own redis@3 client; everything else uses ioredis.
 */
export class JobQueues {
  private readonly queues = new Map<string, BeeQueue>();
  private readonly groupSlots: GroupSlots | null;

  constructor(private readonly options: QueueOptions) {
    const group = options.groupConcurrency;
    this.groupSlots = group ? new GroupSlots(group.redis, options.prefix ?? "sc:bq", group.limit) : null;
  }

  queue(definition: JobDefinition): BeeQueue {
    let queue = this.queues.get(definition.name);
    if (!queue) {
      queue = new BeeQueue(definition.name, {
        prefix: this.options.prefix ?? "sc:bq",
        redis: redisClientOptions(this.options.redisUrl) as never,
        isWorker: this.options.isWorker,
        getEvents: false,
        sendEvents: false,
        removeOnSuccess: true,
        removeOnFailure: true,
        // Bee-Queue keeps every job it saves or fetches in a map until its "succeeded" or
        // "failed" event arrives; with events off none ever does, so the map only grows.
        storeJobs: false,
        stallInterval: this.options.stallIntervalMs ?? 5_000,
        activateDelayedJobs: this.options.isWorker,
      });
      // Without a listener, an 'error' event would crash the process.
      queue.on("error", (err) => this.options.onError?.(err, definition.name));
      reloadScriptsWhenLost(queue);
      this.queues.set(definition.name, queue);
    }
    return queue;
  }

  /** Validates and enqueues; returns the job id. */
  async enqueue<D extends JobDefinition>(
    definition: D,
    payload: JobPayload<D>,
    options: EnqueueOptions = {},
  ): Promise<string> {
    const saved = await this.createJob(definition, payload, options).save();
    return saved.id ?? options.jobId ?? "";
  }

  /**
   * Validates and enqueues many jobs of one kind in one pipelined batch: one write to Redis
   * instead of one round trip per job. Every payload is validated before anything is sent. A
   * job whose script Redis had lost (`NOSCRIPT`: nothing ran) is sent again once the scripts
   * are loaded; any other failure rejects with the first error, after the rest was saved.
   */
  async enqueueAll<D extends JobDefinition>(
    definition: D,
    jobs: ReadonlyArray<{ payload: JobPayload<D>; jobId?: string }>,
  ): Promise<void> {
    if (jobs.length === 0) return;
    const queue = this.queue(definition);
    let pending = jobs.map((j) => this.createJob(definition, j.payload, j.jobId ? { jobId: j.jobId } : {}));
    for (let attempt = 0; ; attempt += 1) {
      const failed = await saveBatch(queue, pending);
      if (failed.length === 0) return;
      const lost = failed.filter(({ error }) => (error as { code?: unknown }).code === "NOSCRIPT");
      if (lost.length < failed.length || attempt > 0) throw failed[0]?.error;
      await reloadScripts(queue);
      pending = lost.map(({ job }) => job);
    }
  }

  private createJob<D extends JobDefinition>(
    definition: D,
    payload: JobPayload<D>,
    options: EnqueueOptions,
  ): BeeQueue.Job<JobPayload<D>> {
    const job = this.queue(definition)
      .createJob(parsePayload(definition, payload))
      .retries(definition.retries)
      .backoff("exponential", this.options.retryBackoffMs ?? definition.backoffMs)
      .timeout(definition.timeoutMs);
    if (options.jobId) job.setId(options.jobId);
    // --- traces (issue 10) ---
    // The trace of whoever enqueues (a request, a job, an event) travels in the job's record,
    // beside the payload, so the payload schemas stay as they are; the worker continues it.
    const trace = currentTraceCarrier();
    if (trace) (job.options as JobRecordOptions).trace = trace;
    // --- end traces ---
    if (options.delayUntil && options.delayUntil.getTime() > Date.now()) job.delayUntil(options.delayUntil);
    return job;
  }

  /**
   * Consumes jobs with `concurrency` at a time. The handler receives the validated payload;
   * a payload that fails validation fails the job without retries.
   */
  process<D extends JobDefinition>(
    definition: D,
    concurrency: number,
    handler: (payload: JobPayload<D>, job: JobInfo) => Promise<unknown>,
  ): void {
    const queue = this.queue(definition);
    const slots = definition.group ? this.groupSlots : null;
    if (slots) enableDeferral(queue);
    queue.process(concurrency, async (job) => {
      const payload = parsePayload(definition, job.data);
      const options = job.options as { retries?: number; timestamp?: number };
      const info = {
        id: job.id,
        attempt: definition.retries - (options.retries ?? 0) + 1,
        enqueuedAt: options.timestamp ?? Date.now(),
      };
      const run = async () => {
        if (!slots || !definition.group) return handler(payload, info);
        // A group at its cap: the job goes back to the queue and frees this worker slot.
        const result = await slots.run(definition.name, definition.group(payload), job.id, () =>
          handler(payload, info),
        );
        if (result === DEFERRED) throw deferJob(job);
        return result;
      };
      // --- traces (issue 10) ---
      if (tracingEnabled()) return traceJob(definition.name, job, info, run);
      // --- end traces ---
      return run();
    });
    // Stalled jobs (a worker died mid-job) go back to the queue; check twice per interval.
    void queue.checkStalledJobs(Math.max(500, Math.floor((this.options.stallIntervalMs ?? 5_000) / 2)));
  }

  /** Waits for `ready` on every queue opened so far. */
  async ready(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.ready()));
  }

  /**
   * Stops taking jobs and waits up to `timeoutMs` for running ones to finish. Jobs still
   * running then are left to stall; another worker recovers them. Returns how many queues
   * closed with jobs still running.
   */
  async close(timeoutMs = 10_000): Promise<number> {
    const results = await Promise.allSettled([...this.queues.values()].map((q) => q.close(timeoutMs)));
    return results.filter((r) => r.status === "rejected").length;
  }
}

/** Bee-Queue internals `saveBatch` drives (private in its types). */
interface BatchingQueue {
  _commandable(): Promise<{ batch(): { exec(callback: (err: Error | null) => void): void } }>;
  _evalScriptOn(commandable: unknown, args: unknown[]): Promise<unknown>;
}

/**
 * Bee-Queue's `saveAll`, with each job's outcome awaited: `saveAll` resolves its error map
 * before the jobs' own failures are written into it, so a lost script looked like success.
 */
async function saveBatch<T>(
  queue: BeeQueue,
  jobs: BeeQueue.Job<T>[],
): Promise<Array<{ job: BeeQueue.Job<T>; error: unknown }>> {
  const internals = queue as unknown as BatchingQueue;
  const batch = (await internals._commandable()).batch();
  const outcomes = jobs.map((job) =>
    (job as unknown as { _save(evalScript: (args: unknown[]) => Promise<unknown>): Promise<unknown> })
      ._save((args) => internals._evalScriptOn(batch, args))
      .then(
        () => null,
        (error: unknown) => ({ job, error }),
      ),
  );
  await new Promise<void>((resolve, reject) => batch.exec((err) => (err ? reject(err) : resolve())));
  return (await Promise.all(outcomes)).filter((o) => o !== null);
}

// --- traces (issue 10) ---
/**
 * Runs a job in one span, `job <name>`, continuing the trace that enqueued it (a job without
 * one starts a new trace), with the job's id, attempt and outcome (succeeded, failed, deferred).
 */
async function traceJob<T>(name: string, job: BeeQueue.Job<unknown>, info: JobInfo, run: () => Promise<T>): Promise<T> {
  const options = {
    kind: "consumer" as const,
    parent: asTraceCarrier((job.options as JobRecordOptions).trace),
    attributes: { "job.name": name, "job.id": info.id, "job.attempt": info.attempt },
  };
  // A deferred job (its group at the cap) is not an error: its span ends without one.
  let deferred: JobDeferredError | null = null;
  const result = await withSpan(`job ${name}`, options, async (span) => {
    try {
      const done = await run();
      span.setAttribute("job.outcome", "succeeded");
      return done;
    } catch (err) {
      if (!(err instanceof JobDeferredError)) {
        span.setAttribute("job.outcome", "failed");
        throw err;
      }
      span.setAttribute("job.outcome", "deferred");
      deferred = err;
      return undefined;
    }
  });
  if (deferred) throw deferred;
  return result as T;
}
// --- end traces ---

import { type ChildProcess, fork, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createRedis, type Redis } from "@sprintconnect/core";
import { JobQueues, pingJob } from "@sprintconnect/jobs";
import BeeQueue from "bee-queue";
import { buildWorker } from "../test/support/worker-process";
import { BENCH_DATABASE_URL, BENCH_REDIS_URL } from "./support/env";
import { freePort } from "./support/process-stack";
import { conditionsNote, printTable, writeResults } from "./support/report";
import { progress, sleep } from "./support/stack";
import { type Summary, summarize } from "./support/stats";

/**
 * No-op jobs through one consumer process: raw Bee-Queue (the baseline) against our path
 * (`defineJob` + `JobQueues` + the real worker process as `npm start` runs it, taking
 * `pingJob`).
 * Both consume from the same Redis in a process of their own, with the same concurrency.
 */
const ROOT = resolve(__dirname, "..");
const CONCURRENCY = 16; // the worker's PING_CONCURRENCY
const WARMUP_JOBS = 2_000;
const BULK_JOBS = 20_000;
/** Bulk enqueues are sent in batches of this many (as the scheduler sends a page of servers). */
const BATCH = 500;
/** The latency phase: a steady rate far below saturation, so the figure is the path, not a backlog. */
const PACED_JOBS = 2_000;
const PACED_PER_SECOND = 500;
const PACE_TICK_MS = 10;

/** A consumer process: how the bench enqueues to it, waits for it and reads its latencies. */
interface Consumer {
  label: string;
  pid: number;
  jobsKey: string;
  /** Enqueues `count` no-op jobs, in batches (`saveAll`) or one call per job. */
  enqueue(count: number, mode: "batch" | "single"): Promise<void>;
  /** Latencies of the jobs finished since the last call: exact values, or a histogram's. */
  takeLatencies(): Promise<Summary>;
  close(): Promise<void>;
}

interface Row {
  label: string;
  enqueue: "batch" | "single";
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  /** CPU of the consumer process per job (user + system). */
  consumerCpuUsPerJob: number;
  /** CPU of this (producer) process per job. */
  producerCpuUsPerJob: number;
  bulkLatency: Summary;
}

let redis: Redis;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => {
  buildWorker();
  redis = createRedis(BENCH_REDIS_URL, "bench-jobs");
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  redis?.disconnect();
});

/** CPU time (ms) a process has used, from /proc (Linux). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm) ".
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function drained(jobsKey: string): Promise<void> {
  const deadline = Date.now() + 240_000;
  while ((await redis.hlen(jobsKey)) > 0) {
    if (Date.now() > deadline) throw new Error(`${jobsKey} not drained within 240 s`);
    await sleep(5);
  }
}

async function rawBeeQueue(prefix: string): Promise<Consumer> {
  const queueName = "noop";
  const child = fork(join(__dirname, "support/bee-queue-consumer.mjs"), [], {
    env: {
      ...process.env,
      REDIS_URL: BENCH_REDIS_URL,
      PREFIX: prefix,
      QUEUE: queueName,
      CONCURRENCY: String(CONCURRENCY),
    },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise((ready, reject) => {
    child.once("message", ready);
    child.once("exit", (code) => reject(new Error(`bee-queue consumer exited with ${code}`)));
  });
  const producer = new BeeQueue(queueName, {
    prefix,
    redis: { url: BENCH_REDIS_URL } as never,
    isWorker: false,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
  });
  await producer.ready();
  const ask = <T>(message: string) =>
    new Promise<T>((answer) => {
      child.once("message", (m) => answer(m as T));
      child.send(message);
    });
  return {
    label: "raw Bee-Queue",
    pid: child.pid as number,
    jobsKey: `${prefix}:${queueName}:jobs`,
    async enqueue(count, mode) {
      if (mode === "single") {
        await Promise.all(Array.from({ length: count }, () => producer.createJob({}).save()));
        return;
      }
      for (let sent = 0; sent < count; sent += BATCH) {
        const jobs = Array.from({ length: Math.min(BATCH, count - sent) }, () => producer.createJob({}));
        const errors = await producer.saveAll(jobs);
        if (errors.size > 0) throw [...errors.values()][0];
      }
    },
    async takeLatencies() {
      return summarize((await ask<{ latencies: number[] }>("report")).latencies);
    },
    async close() {
      child.send("close");
      await producer.close();
    },
  };
}

/** Cumulative bucket counts of `worker_job_latency_seconds{job="ping"}`, and its sum and count. */
async function latencyHistogram(
  port: number,
): Promise<{ buckets: Array<[number, number]>; sum: number; count: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const buckets: Array<[number, number]> = [];
  let sum = 0;
  let count = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("worker_job_latency_seconds") || !line.includes('job="ping"')) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (line.startsWith("worker_job_latency_seconds_bucket") && le)
      buckets.push([le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), value]);
    else if (line.startsWith("worker_job_latency_seconds_sum")) sum = value;
    else if (line.startsWith("worker_job_latency_seconds_count")) count = value;
  }
  return { buckets, sum, count };
}

/** A quantile of a histogram's difference, interpolated linearly within the bucket (as PromQL's histogram_quantile). */
function histogramQuantile(buckets: Array<[number, number]>, count: number, q: number): number {
  const rank = q * count;
  let previousBound = 0;
  let previousCount = 0;
  for (const [bound, cumulative] of buckets) {
    if (cumulative >= rank) {
      if (!Number.isFinite(bound)) return previousBound * 1000;
      const within = cumulative - previousCount;
      return (previousBound + (bound - previousBound) * (within ? (rank - previousCount) / within : 1)) * 1000;
    }
    previousBound = bound;
    previousCount = cumulative;
  }
  return Number.NaN;
}

async function ourWorker(prefix: string): Promise<Consumer> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, "worker/dist/main.js")], {
    env: {
      ...process.env,
      DATABASE_URL: BENCH_DATABASE_URL,
      REDIS_URL: BENCH_REDIS_URL,
      JOB_QUEUE_PREFIX: prefix,
      PROMETHEUS_METRICS_PORT: String(port),
      OUTPUTS_DIR: "outputs/bench/worker",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}`);
    const up = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error("worker did not answer /health within 60 s");
    await sleep(100);
  }
  const queues = new JobQueues({ redisUrl: BENCH_REDIS_URL, isWorker: false, prefix });
  queues.queue(pingJob);
  await queues.ready();
  let seen = await latencyHistogram(port);
  return {
    label: "ours: pingJob, worker process",
    pid: child.pid as number,
    jobsKey: `${prefix}:${pingJob.name}:jobs`,
    async enqueue(count, mode) {
      if (mode === "single") {
        await Promise.all(Array.from({ length: count }, () => queues.enqueue(pingJob, {})));
        return;
      }
      for (let sent = 0; sent < count; sent += BATCH) {
        await queues.enqueueAll(
          pingJob,
          Array.from({ length: Math.min(BATCH, count - sent) }, () => ({ payload: {} })),
        );
      }
    },
    async takeLatencies() {
      const now = await latencyHistogram(port);
      const before = new Map(seen.buckets);
      const buckets = now.buckets.map(([bound, c]): [number, number] => [bound, c - (before.get(bound) ?? 0)]);
      const count = now.count - seen.count;
      const sum = now.sum - seen.sum;
      seen = now;
      const q = (p: number) => histogramQuantile(buckets, count, p);
      // The histogram keeps no minimum or maximum: its first and last non-empty buckets stand in.
      return {
        count,
        mean: (sum / count) * 1000,
        min: q(0),
        p50: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
        max: q(1),
      };
    },
    async close() {
      await queues.close();
      child.kill("SIGTERM");
      await new Promise((exited) => child.once("exit", exited));
    },
  };
}

async function bulk(consumer: Consumer, mode: "batch" | "single"): Promise<Row> {
  await consumer.takeLatencies();
  const cpuBefore = cpuMs(consumer.pid);
  const producerBefore = process.cpuUsage();
  const started = performance.now();
  await consumer.enqueue(BULK_JOBS, mode);
  await drained(consumer.jobsKey);
  const seconds = (performance.now() - started) / 1000;
  const producer = process.cpuUsage(producerBefore);
  // Let the consumer finish its bookkeeping of the last jobs before reading its CPU.
  await sleep(50);
  return {
    label: consumer.label,
    enqueue: mode,
    jobs: BULK_JOBS,
    seconds,
    jobsPerSecond: BULK_JOBS / seconds,
    consumerCpuUsPerJob: ((cpuMs(consumer.pid) - cpuBefore) * 1000) / BULK_JOBS,
    producerCpuUsPerJob: (producer.user + producer.system) / BULK_JOBS,
    bulkLatency: await consumer.takeLatencies(),
  };
}

async function paced(consumer: Consumer): Promise<Summary> {
  await consumer.takeLatencies();
  const perTick = (PACED_PER_SECOND * PACE_TICK_MS) / 1000;
  const started = performance.now();
  for (let sent = 0; sent < PACED_JOBS; sent += perTick) {
    await consumer.enqueue(perTick, "batch");
    const next = started + ((sent + perTick) / PACED_PER_SECOND) * 1000;
    await sleep(Math.max(0, next - performance.now()));
  }
  await drained(consumer.jobsKey);
  return consumer.takeLatencies();
}

describe("jobs", () => {
  it("prints no-op job throughput and latency through one consumer process: raw Bee-Queue and our worker", async () => {
    const run = `bench:jobs:${Date.now()}`;
    const rows: Row[] = [];
    const latency: Record<string, Summary> = {};
    for (const [name, start, modes] of [
      ["raw", rawBeeQueue, ["batch", "single"]],
      ["ours", ourWorker, ["batch", "single"]],
    ] as const) {
      const prefix = `${run}:${name}`;
      const consumer = await start(prefix);
      cleanups.push(async () => {
        await consumer.close();
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
      });
      progress(`${consumer.label}: warm-up ${WARMUP_JOBS} jobs`);
      await consumer.enqueue(WARMUP_JOBS, "batch");
      await drained(consumer.jobsKey);
      for (const mode of modes) {
        progress(
          `${consumer.label}: ${BULK_JOBS} jobs, enqueued ${mode === "batch" ? `in batches of ${BATCH}` : "one call each"}`,
        );
        rows.push(await bulk(consumer, mode));
      }
      progress(`${consumer.label}: ${PACED_JOBS} jobs at ${PACED_PER_SECOND}/s`);
      latency[consumer.label] = await paced(consumer);
    }

    const baseline = rows[0] as Row;
    printTable(
      `no-op jobs through one consumer process, concurrency ${CONCURRENCY}, ${BULK_JOBS.toLocaleString("en-US")} jobs enqueued at once`,
      [
        "consumer",
        "enqueue",
        "jobs/s",
        "÷ raw batch",
        "consumer CPU µs/job",
        "producer CPU µs/job",
        "p50 ms",
        "p99 ms",
      ],
      rows.map((r) => [
        r.label,
        r.enqueue === "batch" ? `saveAll ×${BATCH}` : "one call each",
        Math.round(r.jobsPerSecond),
        (r.jobsPerSecond / baseline.jobsPerSecond).toFixed(2),
        r.consumerCpuUsPerJob,
        r.producerCpuUsPerJob,
        r.bulkLatency.p50,
        r.bulkLatency.p99,
      ]),
      "Throughput: first enqueue to the last job removed from Redis. Latency here is mostly the backlog (all jobs\n" +
        "are queued at once); the paced table below is the path itself.",
    );
    printTable(
      `latency, creation → handler done, at a steady ${PACED_PER_SECOND} jobs/s (${PACED_JOBS} jobs)`,
      ["consumer", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms"],
      Object.entries(latency).map(([label, s]) => [label, s.mean, s.p50, s.p95, s.p99, s.max]),
      "Raw Bee-Queue: exact per job. Ours: from the worker's worker_job_latency_seconds histogram (exact mean;\n" +
        "quantiles interpolated within buckets, max = upper bound of the last non-empty bucket).\n" +
        conditionsNote(),
    );
    const file = await writeResults("jobs", {
      concurrency: CONCURRENCY,
      bulkJobs: BULK_JOBS,
      batch: BATCH,
      paced: { jobs: PACED_JOBS, perSecond: PACED_PER_SECOND },
      rows,
      latency,
      ratios: Object.fromEntries(
        rows.map((r) => [`${r.label} (${r.enqueue})`, r.jobsPerSecond / baseline.jobsPerSecond]),
      ),
    });
    progress(`written ${file}`);
    for (const r of rows) expect(r.jobsPerSecond).toBeGreaterThan(0);
  });
});

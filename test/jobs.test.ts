import { randomUUID } from "node:crypto";
import { createRedis, type Redis } from "@sprintconnect/core";
import { healthCheckJob, InvalidJobPayloadError, JobQueues, pingJob } from "@sprintconnect/jobs";
import { WorkerMetrics } from "@sprintconnect/worker";
import { type OwnRedis, startOwnRedis } from "./support/own-services";
import { waitFor } from "./support/wait";

/**
 * The queue path itself, on a Redis of the test's own (SCRIPT FLUSH there touches nobody
 * else's scripts): batched enqueues and the no-op ping job.
 */
let server: OwnRedis;
let redis: Redis;
const opened: JobQueues[] = [];

function queues(isWorker = false): JobQueues {
  const q = new JobQueues({ redisUrl: server.url(), isWorker, prefix: `t:${randomUUID()}`, stallIntervalMs: 1_000 });
  opened.push(q);
  return q;
}

beforeAll(async () => {
  server = await startOwnRedis();
  redis = createRedis(server.url(), "jobs-test");
});
afterAll(async () => {
  await Promise.all(opened.map((q) => q.close(1_000)));
  redis?.disconnect();
  await server?.stop();
});

const check = () => ({ serverId: randomUUID(), organizationId: randomUUID() });

describe("enqueueAll", () => {
  it("queues every job of the batch once, under its id: an id already queued is not queued again", async () => {
    const producer = queues();
    const queue = producer.queue(healthCheckJob);
    await producer.ready();
    const jobs = Array.from({ length: 50 }, (_, i) => ({ payload: check(), jobId: `server-${i}:1` }));
    await producer.enqueueAll(healthCheckJob, jobs);
    await producer.enqueueAll(healthCheckJob, jobs.slice(0, 10));
    const waiting = await queue.getJobs("waiting", { start: 0, end: 1_000 });
    expect(waiting.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.jobId).sort());
    expect((await queue.getJob("server-7:1"))?.data).toEqual(jobs[7]?.payload);
  });

  it("sends nothing when one payload is invalid", async () => {
    const producer = queues();
    const queue = producer.queue(healthCheckJob);
    await producer.ready();
    const jobs = [{ payload: check() }, { payload: { serverId: "not-a-uuid", organizationId: randomUUID() } }];
    await expect(producer.enqueueAll(healthCheckJob, jobs)).rejects.toBeInstanceOf(InvalidJobPayloadError);
    expect((await queue.checkHealth()).waiting).toBe(0);
  });

  it("sends the jobs again after Redis lost the scripts (SCRIPT FLUSH)", async () => {
    const producer = queues();
    producer.queue(pingJob);
    await producer.ready();
    await producer.enqueueAll(pingJob, [{ payload: {} }]);
    await redis.script("FLUSH");
    await producer.enqueueAll(
      pingJob,
      Array.from({ length: 20 }, () => ({ payload: {} })),
    );
    expect((await producer.queue(pingJob).checkHealth()).waiting).toBe(21);
  });
});

describe("pingJob", () => {
  it("is taken and acknowledged by a worker, which records its latency since it was queued", async () => {
    const producer = queues();
    const prefix = (producer as unknown as { options: { prefix: string } }).options.prefix;
    const consumer = new JobQueues({ redisUrl: server.url(), isWorker: true, prefix });
    opened.push(consumer);
    const metrics = new WorkerMetrics({ queues: consumer, db: {} as never });
    consumer.process(
      pingJob,
      4,
      metrics.timed(pingJob.name, async () => undefined),
    );
    await consumer.ready();
    await producer.enqueueAll(
      pingJob,
      Array.from({ length: 30 }, () => ({ payload: {} })),
    );
    await waitFor("the pings to be done", async () => (await redis.hlen(`${prefix}:ping:jobs`)) === 0);
    const latency = (await metrics.jobLatency.get()).values.find(
      (v) => v.metricName === "worker_job_latency_seconds_count",
    );
    expect(latency?.value).toBe(30);
    const done = (await metrics.jobs.get()).values.find((v) => v.labels.outcome === "succeeded");
    expect(done?.value).toBe(30);
  });
});

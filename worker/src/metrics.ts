import type { PrismaClient } from "@sprintconnect/core";
import type { JobInfo, JobQueues } from "@sprintconnect/jobs";
import { discoveryJob, healthCheckJob } from "@sprintconnect/jobs";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Prometheus metrics of a worker: job times and outcomes, queue depths, outbox lag. */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobDuration = new Histogram({
    name: "worker_job_duration_seconds",
    help: "Time to process one job, by job name and outcome",
    labelNames: ["job", "outcome"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly jobLatency = new Histogram({
    name: "worker_job_latency_seconds",
    help: "Time from a job's creation to the end of its last attempt, by job name (queueing included)",
    labelNames: ["job"] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly jobs = new Counter({
    name: "worker_jobs_total",
    help: "Jobs processed, by job name and outcome",
    labelNames: ["job", "outcome"] as const,
    registers: [this.registry],
  });

  constructor(deps: { queues: JobQueues; db: PrismaClient }) {
    collectDefaultMetrics({ register: this.registry });
    const depth = new Gauge({
      name: "worker_queue_jobs",
      help: "Jobs in each queue by state (alert on a growing waiting count)",
      labelNames: ["queue", "state"] as const,
      registers: [this.registry],
      async collect() {
        for (const definition of [discoveryJob, healthCheckJob]) {
          const health = await deps.queues.queue(definition).checkHealth();
          for (const state of ["waiting", "active", "delayed", "failed"] as const) {
            depth.set({ queue: definition.name, state }, health[state]);
          }
        }
      },
    });
    const outbox = new Gauge({
      name: "outbox_unpublished_events",
      help: "Events written but not yet published by the relay",
      registers: [this.registry],
      async collect() {
        outbox.set(await deps.db.event.count({ where: { publishedAt: null } }));
      },
    });
  }

  /** Wraps a job handler to time it, count its outcome and record its latency since it was queued. */
  timed<P, R>(
    job: string,
    handler: (payload: P, info: JobInfo) => Promise<R>,
  ): (payload: P, info: JobInfo) => Promise<R> {
    // Label lookups once, not per job.
    const succeeded = {
      duration: this.jobDuration.labels(job, "succeeded"),
      count: this.jobs.labels(job, "succeeded"),
    };
    const failed = { duration: this.jobDuration.labels(job, "failed"), count: this.jobs.labels(job, "failed") };
    const latency = this.jobLatency.labels(job);
    return async (payload, info) => {
      const started = performance.now();
      let outcome = failed;
      try {
        const result = await handler(payload, info);
        outcome = succeeded;
        return result;
      } finally {
        outcome.duration.observe((performance.now() - started) / 1000);
        outcome.count.inc();
        latency.observe((Date.now() - info.enqueuedAt) / 1000);
      }
    };
  }
}

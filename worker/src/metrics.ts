import type { PrismaClient } from "@sprintconnect/core";
import type { JobQueues } from "@sprintconnect/jobs";
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

  /** Wraps a job handler to time it and count its outcome. */
  timed<A extends unknown[], R>(job: string, handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => {
      const end = this.jobDuration.startTimer({ job });
      try {
        const result = await handler(...args);
        end({ outcome: "succeeded" });
        this.jobs.inc({ job, outcome: "succeeded" });
        return result;
      } catch (err) {
        end({ outcome: "failed" });
        this.jobs.inc({ job, outcome: "failed" });
        throw err;
      }
    };
  }
}

import "./scheduler-instrumentation"; // first: traces (issue 10), before anything it instruments loads
import { createOutputs } from "@sprintconnect/core";
import { JobQueues } from "@sprintconnect/jobs";
import { EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import { serveOperations } from "./operations-server";
import { runProcess } from "./process";
import { Scheduler } from "./scheduler/scheduler";

void runProcess("scheduler", async ({ env, db, redis, logger, keys }) => {
  // The daily usage-analytics reports go under OUTPUTS_DIR, and to S3 when configured.
  const egress = new EgressGuard(parseEgressPolicy(env.ALLOWED_EGRESS_HOSTS), { logger });
  const outputs = await createOutputs(env, { logger, egress });
  const queues = new JobQueues({ redisUrl: env.REDIS_URL, isWorker: false, prefix: env.JOB_QUEUE_PREFIX });
  const scheduler = new Scheduler({ db, redis, queues, env, logger, keys, outputs });
  scheduler.start();
  // Only when asked (a container health check): beside a worker on one host the port would clash.
  const server = env.SCHEDULER_HEALTH_PORT
    ? await serveOperations({ port: env.SCHEDULER_HEALTH_PORT, host: env.HOST, env })
    : null;
  logger.info({ healthPort: env.SCHEDULER_HEALTH_PORT ?? null }, "scheduler started");
  return {
    async stop() {
      server?.close();
      await scheduler.stop();
      await queues.close();
      await outputs.close(env.SHUTDOWN_TIMEOUT_SECONDS * 1000);
      await egress.close();
    },
  };
});

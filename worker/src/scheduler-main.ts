import "./scheduler-instrumentation"; // first: traces (issue 10), before anything it instruments loads
import { JobQueues } from "@sprintconnect/jobs";
import { serveOperations } from "./operations-server";
import { runProcess } from "./process";
import { Scheduler } from "./scheduler/scheduler";

void runProcess("scheduler", async ({ env, db, redis, logger, keys }) => {
  const queues = new JobQueues({ redisUrl: env.REDIS_URL, isWorker: false, prefix: env.JOB_QUEUE_PREFIX });
  const scheduler = new Scheduler({ db, redis, queues, env, logger, keys });
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
    },
  };
});

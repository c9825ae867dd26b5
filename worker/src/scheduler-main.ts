import { JobQueues } from "@sprintconnect/jobs";
import { runProcess } from "./process";
import { Scheduler } from "./scheduler/scheduler";

void runProcess("scheduler", async ({ env, db, redis, logger, keys }) => {
  const queues = new JobQueues({ redisUrl: env.REDIS_URL, isWorker: false, prefix: env.JOB_QUEUE_PREFIX });
  const scheduler = new Scheduler({ db, redis, queues, env, logger, keys });
  scheduler.start();
  logger.info("scheduler started");
  return {
    async stop() {
      await scheduler.stop();
      await queues.close();
    },
  };
});

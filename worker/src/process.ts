import {
  createLogger,
  createPrisma,
  createRedis,
  type Logger,
  parseEnv,
  resolveKeys,
  type WorkerEnv,
  workerEnvSchema,
} from "@sprintconnect/core";

/**
 * Shared main for the worker and scheduler processes: configuration (every error at once),
 * connections, and a clean stop on SIGTERM or SIGINT.
 */
export async function runProcess(
  name: string,
  start: (deps: {
    env: WorkerEnv;
    logger: Logger;
    db: ReturnType<typeof createPrisma>;
    redis: ReturnType<typeof createRedis>;
    secretStoreKey: Buffer;
  }) => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  let env: WorkerEnv;
  let secretStoreKey: Buffer;
  try {
    env = parseEnv(workerEnvSchema, process.env);
    secretStoreKey = resolveKeys(env).secretStoreKey;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger(name, env.LOG_LEVEL);
  const db = createPrisma(env);
  const redis = createRedis(env.REDIS_URL, name);
  let running: { stop(): Promise<void> };
  try {
    running = await start({ env, logger, db, redis, secretStoreKey });
  } catch (err) {
    logger.fatal({ err }, `${name} failed to start`);
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    setTimeout(
      () => {
        logger.error("shutdown timed out");
        process.exit(1);
      },
      (env.SHUTDOWN_TIMEOUT_SECONDS + 5) * 1000,
    ).unref();
    await running.stop();
    await Promise.allSettled([db.$disconnect(), redis.quit()]);
    logger.info("stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

import {
  createKeyRing,
  createLogger,
  createPrisma,
  createRedis,
  flushTracing,
  type KeyRing,
  type Logger,
  parseEnv,
  resolveAppDatabaseUrl,
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
    /** The deployment's signing key ring (the scheduler signs audit anchors with it). */
    keys: KeyRing;
  }) => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  let env: WorkerEnv;
  let secretStoreKey: Buffer;
  let jwtPrivateJwk: ReturnType<typeof resolveKeys>["jwtPrivateJwk"];
  let databaseUrl: string;
  try {
    env = parseEnv(workerEnvSchema, process.env);
    ({ secretStoreKey, jwtPrivateJwk } = resolveKeys(env));
    databaseUrl = resolveAppDatabaseUrl(env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger(name, env.LOG_LEVEL);
  const db = createPrisma({ ...env, DATABASE_URL: databaseUrl });
  const redis = createRedis(env.REDIS_URL, name);
  let running: { stop(): Promise<void> };
  try {
    const keys = await createKeyRing(jwtPrivateJwk);
    running = await start({ env, logger, db, redis, secretStoreKey, keys });
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
    await flushTracing(); // traces (issue 10): export the spans still buffered
    logger.info("stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

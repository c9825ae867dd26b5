import {
  createKeyRing,
  createLogger,
  createPrisma,
  createRedis,
  flushTracing,
  InternalTokenVerifier,
  type KeyRing,
  type Logger,
  type PrismaClient,
  parseEnv,
  type Redis,
  resolveAppDatabaseUrl,
  resolveKeys,
  type SubgraphEnv,
  subgraphEnvSchema,
  UsageRecorder,
} from "@sprintconnect/core";
import type { GraphQLSchema } from "graphql";
import { type EventSource, RedisEventHub } from "./events";
import { createSubgraphApp } from "./server";

/** What a subgraph needs to build its schema. */
export interface SubgraphDeps {
  env: SubgraphEnv;
  db: PrismaClient;
  logger: Logger;
  keys: KeyRing;
  secretStoreKey: Buffer;
  /** The process's live events (one Redis subscriber connection, opened on first use). */
  events: EventSource;
  /** The process's usage meter (null when USAGE_RECORDING is off); written before the process exits. */
  usage: UsageRecorder | null;
  /** The process's Redis connection for commands (readiness, access epochs); closed at exit. */
  redis: Redis;
}

/**
 * The main of a subgraph process: validate configuration (all errors at once, then exit),
 * connect, serve, and on SIGTERM or SIGINT stop taking requests, drain and exit cleanly.
 */
export async function runSubgraph(options: SubgraphProcessOptions): Promise<void> {
  try {
    await serve(options);
  } catch (err) {
    process.stderr.write(`${options.name} subgraph failed to start: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

export interface SubgraphProcessOptions {
  name: string;
  defaultPort: number;
  buildSchema: (deps: SubgraphDeps) => Promise<GraphQLSchema>;
}

async function serve(options: SubgraphProcessOptions): Promise<void> {
  let env: SubgraphEnv;
  let keyMaterial: ReturnType<typeof resolveKeys>;
  let databaseUrl: string;
  try {
    env = parseEnv(subgraphEnvSchema, process.env);
    keyMaterial = resolveKeys(env);
    databaseUrl = resolveAppDatabaseUrl(env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger(`${options.name}-subgraph`, env.LOG_LEVEL);
  const db = createPrisma({ ...env, DATABASE_URL: databaseUrl });
  const keys = await createKeyRing(keyMaterial.jwtPrivateJwk);
  const events = new RedisEventHub({ redisUrl: env.REDIS_URL, logger });
  // Readiness asks Redis on a connection of its own (the event hub's is in subscriber mode).
  const redis = createRedis(env.REDIS_URL, `${options.name}-subgraph`);
  const usage = env.USAGE_RECORDING
    ? new UsageRecorder(db, logger, {
        flushIntervalMs: env.USAGE_FLUSH_INTERVAL_MS,
        maxBuffered: env.USAGE_MAX_BUFFERED,
      })
    : null;
  const schema = await options.buildSchema({
    env,
    db,
    logger,
    keys,
    secretStoreKey: keyMaterial.secretStoreKey,
    events,
    usage,
    redis,
  });
  const app = await createSubgraphApp({
    name: options.name,
    schema,
    verifier: new InternalTokenVerifier(keys),
    logger,
    events,
    production: env.APP_ENV === "production",
    readiness: {
      postgres: () => db.$queryRaw`SELECT 1`,
      redis: () => redis.ping(),
    },
  });
  const port = env.PORT ?? options.defaultPort;
  await app.listen({ port, host: env.HOST });
  logger.info({ url: `http://${env.HOST}:${port}/graphql` }, `${options.name} subgraph listening`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      logger.error("shutdown timed out");
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_SECONDS * 1000);
    timer.unref();
    await app.close();
    await usage?.stop();
    await Promise.allSettled([events.close(), db.$disconnect(), redis.quit()]);
    await flushTracing(); // traces (issue 10): export the spans still buffered
    logger.info("stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

import "./instrumentation"; // first: traces (issue 10), before anything it instruments loads
import {
  createKeyRing,
  createLogger,
  createPrisma,
  createRedis,
  flushTracing,
  type GatewayEnv,
  gatewayEnvSchema,
  parseEnv,
  resolveAppDatabaseUrl,
  resolveKeys,
} from "@sprintconnect/core";
import { createGatewayApp } from "./app";

/** The gateway process: configuration, connections, serve, drain on SIGTERM. */
async function main(): Promise<void> {
  let env: GatewayEnv;
  let keyMaterial: ReturnType<typeof resolveKeys>;
  let databaseUrl: string;
  try {
    env = parseEnv(gatewayEnvSchema, process.env);
    keyMaterial = resolveKeys(env);
    databaseUrl = resolveAppDatabaseUrl(env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger("gateway", env.LOG_LEVEL);
  const db = createPrisma({ ...env, DATABASE_URL: databaseUrl });
  const redis = createRedis(env.REDIS_URL, "gateway");
  const keys = await createKeyRing(keyMaterial.jwtPrivateJwk);
  const app = await createGatewayApp({ env, db, redis, keys, apiKeyPepper: keyMaterial.apiKeyPepper, logger });
  await app.listen({ port: env.GATEWAY_PORT, host: env.HOST });
  logger.info({ url: `http://${env.HOST}:${env.GATEWAY_PORT}/graphql` }, "gateway listening");

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    setTimeout(() => {
      logger.error("shutdown timed out");
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_SECONDS * 1000).unref();
    await app.close();
    await Promise.allSettled([db.$disconnect(), redis.quit()]);
    await flushTracing(); // traces (issue 10): export the spans still buffered
    logger.info("stopped");
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});

import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import {
  buildAdminSchema,
  createOrganization,
  createWebhookDeps,
  loginOptionsFromEnv,
} from "@sprintconnect/admin-subgraph";
import { buildChatSchema, ChatEventHub } from "@sprintconnect/chat-subgraph";
import {
  ChatEventLog,
  createKeyRing,
  createLogger,
  createPrisma,
  createRedis,
  createSecretStore,
  type GatewayEnv,
  gatewayEnvSchema,
  generateApiKey,
  InternalTokenVerifier,
  issueAccessToken,
  type KeyRing,
  type Logger,
  type PrismaClient,
  parseEnv,
  type Redis,
  type Role,
  readAccessEpoch,
  redisAccessChangeNotifier,
  redisAuthInvalidator,
  resolveKeys,
  subgraphEnvSchema,
  UsageRecorder,
  type WorkerEnv,
  workerEnvSchema,
} from "@sprintconnect/core";
import { createGatewayApp } from "@sprintconnect/gateway";
import { JobQueues, requestDiscovery } from "@sprintconnect/jobs";
import { EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import { buildMetricsSchema } from "@sprintconnect/metrics-subgraph";
import { buildRegistrySchema } from "@sprintconnect/registry-subgraph";
import { createSubgraphApp, RedisEventHub } from "@sprintconnect/subgraph-kit";
import { type RunningWorker, startWorker } from "@sprintconnect/worker";
import type { FastifyInstance } from "fastify";
import type { GraphQLSchema } from "graphql";
import { appDatabaseUrl, TEST_DATABASE_URL, TEST_LOG_LEVEL, TEST_REDIS_URL } from "./env";

// --- webhooks (issue 10) ---
/**
 * Webhook settings of every test stack and worker process: short timeouts and retries. Every
 * worker on the test database may attempt any delivery, so they all use the same values.
 */
export const TEST_WEBHOOK_ENV: Record<string, string> = {
  WEBHOOK_TIMEOUT_MS: "1500",
  WEBHOOK_RETRY_BASE_MS: "200",
  WEBHOOK_RETRY_MAX_MS: "1000",
  WEBHOOK_SWEEP_INTERVAL_MS: "500",
  WEBHOOK_MAX_ATTEMPTS: "3",
  WEBHOOK_MAX_CONSECUTIVE_FAILURES: "4",
};
// --- end webhooks ---

/** A whole SprintConnect stack in this process: four subgraphs and the gateway on free ports. */
export interface Stack {
  url: string;
  /** Each subgraph's own `/graphql` URL, by name (registry, chat, metrics, admin). */
  subgraphUrls: Record<string, string>;
  env: GatewayEnv;
  db: PrismaClient;
  redis: Redis;
  keys: KeyRing;
  apiKeyPepper: string;
  /** The job queues of this stack, under their own prefix (`workerEnv.JOB_QUEUE_PREFIX`). */
  queues: JobQueues;
  workerEnv: WorkerEnv;
  /** Present when started with `{ worker: true }`. */
  worker: RunningWorker | null;
  close(): Promise<void>;
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: "127.0.0.1" });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/**
 * Starts the stack against the test database and Redis (or the `DATABASE_URL` / `REDIS_URL`
 * of `overrides`). Rate limits default to values no test reaches; a test of the limits passes
 * its own.
 */
export async function startStack(
  overrides: Record<string, string> = {},
  options: {
    /** A supergraph other than the committed one, e.g. composed in process by `composeSupergraph()`. */
    supergraphSdl?: string;
    /** Also run a worker (discovery, health checks, outbox relay) in this process. */
    worker?: boolean;
    /** The processes' logger (default: the silent test logger), e.g. to read what they log. */
    logger?: Logger;
  } = {},
): Promise<Stack> {
  const baseEnv = {
    APP_ENV: "development",
    LOG_LEVEL: "silent",
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_POOL_SIZE: "5",
    REDIS_URL: TEST_REDIS_URL,
    RATE_LIMIT_REQUESTS_PER_MINUTE: "100000",
    RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: "100000",
    QUOTA_REQUESTS_PER_DAY: "1000000",
    // Every test connects from 127.0.0.1 and the counters are shared: tests of bad
    // credentials must not block each other. test/rate-limit.test.ts sets its own.
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: "1000000",
    // Fixture MCP servers listen on loopback, which the guard refuses unless named.
    ALLOWED_EGRESS_HOSTS: "*,127.0.0.1",
    OUTPUTS_DIR: "outputs/test",
    WORKER_STALL_INTERVAL_MS: "1000",
    OUTBOX_POLL_INTERVAL_MS: "50",
    SHUTDOWN_TIMEOUT_SECONDS: "2",
    DISCOVERY_TIMEOUT_SECONDS: "10",
    HEALTH_CHECK_TIMEOUT_SECONDS: "2",
    API_KEY_LAST_USED_FLUSH_SECONDS: "1",
    ...TEST_WEBHOOK_ENV,
    ...overrides,
  };
  const material = resolveKeys(parseEnv(gatewayEnvSchema, baseEnv));
  const keys = await createKeyRing(material.jwtPrivateJwk);
  const logger = options.logger ?? createLogger("test", TEST_LOG_LEVEL);
  // As the application role, like every process: the suite proves its grants are enough.
  const db = createPrisma({
    DATABASE_URL: appDatabaseUrl(baseEnv.DATABASE_URL),
    DATABASE_POOL_SIZE: 5,
    DATABASE_MAX_OVERFLOW: 5,
  });
  const redis = createRedis(baseEnv.REDIS_URL, "test");
  const verifier = new InternalTokenVerifier(keys);
  // Live events for subscriptions: one Redis subscriber for the stack, as in a process.
  const events = new RedisEventHub({ redisUrl: baseEnv.REDIS_URL, logger });

  // Each stack has its own queues, so stacks of parallel test files never take each other's jobs.
  const workerEnv = parseEnv(workerEnvSchema, {
    JOB_QUEUE_PREFIX: `sc:test:${randomBytes(4).toString("hex")}`,
    ...baseEnv,
  });
  const queues = new JobQueues({
    redisUrl: baseEnv.REDIS_URL,
    isWorker: false,
    prefix: workerEnv.JOB_QUEUE_PREFIX,
    retryBackoffMs: 100,
  });
  const secrets = createSecretStore(workerEnv, db, material.secretStoreKey, logger);
  const chatEvents = new ChatEventLog(redis, {
    size: workerEnv.CHAT_EVENT_LOG_SIZE,
    ttlSeconds: workerEnv.CHAT_EVENT_LOG_TTL_SECONDS,
  });
  const chatHub = new ChatEventHub(TEST_REDIS_URL, chatEvents, logger);
  const subgraphEnv = parseEnv(subgraphEnvSchema, baseEnv);
  // The registry's usage meter, as its process has one (the gateway makes its own).
  const usage = subgraphEnv.USAGE_RECORDING
    ? new UsageRecorder(db, logger, {
        flushIntervalMs: subgraphEnv.USAGE_FLUSH_INTERVAL_MS,
        maxBuffered: subgraphEnv.USAGE_MAX_BUFFERED,
      })
    : null;
  const subgraphs: Record<string, GraphQLSchema> = {
    registry: await buildRegistrySchema(db, {
      egress: new EgressGuard(parseEgressPolicy(workerEnv.ALLOWED_EGRESS_HOSTS)),
      secrets,
      requestDiscovery: (request) => requestDiscovery(db, queues, request),
      logger,
      maxServersPerOrganization: subgraphEnv.MAX_SERVERS_PER_ORGANIZATION,
      usage,
      policyCacheTtlSeconds: subgraphEnv.POLICY_CACHE_TTL_SECONDS,
      accessEpoch: (organizationId) => readAccessEpoch(redis, organizationId),
    }),
    chat: await buildChatSchema(db, {
      queues,
      events: chatEvents,
      publisher: redis,
      hub: chatHub,
      logger,
      maxMessageChars: workerEnv.CHAT_MAX_MESSAGE_CHARS,
      maxConcurrentTurnsPerOrg: workerEnv.CHAT_MAX_CONCURRENT_TURNS_PER_ORG,
    }),
    metrics: await buildMetricsSchema(db),
    admin: await buildAdminSchema(db, {
      apiKeyPepper: material.apiKeyPepper,
      keys,
      invalidate: redisAuthInvalidator(redis, logger),
      accessChanged: redisAccessChangeNotifier(redis, logger),
      login: loginOptionsFromEnv(parseEnv(subgraphEnvSchema, baseEnv), logger),
      // webhooks (issue 10)
      webhooks: createWebhookDeps({ env: workerEnv, db, logger, secretStoreKey: material.secretStoreKey, queues }),
    }),
  };
  const apps: FastifyInstance[] = [];
  const urls: Record<string, string> = {};
  for (const [name, schema] of Object.entries(subgraphs)) {
    const app = await createSubgraphApp({
      name,
      schema,
      verifier,
      logger,
      production: false,
      events,
      readiness: { postgres: () => db.$queryRaw`SELECT 1`, redis: () => redis.ping() },
    });
    apps.push(app);
    urls[name] = `${await listen(app)}/graphql`;
  }
  const env = parseEnv(gatewayEnvSchema, {
    ...baseEnv,
    REGISTRY_SUBGRAPH_URL: urls.registry,
    CHAT_SUBGRAPH_URL: urls.chat,
    METRICS_SUBGRAPH_URL: urls.metrics,
    ADMIN_SUBGRAPH_URL: urls.admin,
  });
  const gateway = await createGatewayApp({
    env,
    db,
    redis,
    keys,
    apiKeyPepper: material.apiKeyPepper,
    logger,
    ...(options.supergraphSdl ? { supergraphSdl: options.supergraphSdl } : {}),
  });
  const url = await listen(gateway);
  const worker = options.worker
    ? await startWorker({ env: workerEnv, db, redis, logger, secretStoreKey: material.secretStoreKey })
    : null;
  return {
    queues,
    workerEnv,
    worker,
    url,
    subgraphUrls: urls,
    env,
    db,
    redis,
    keys,
    apiKeyPepper: material.apiKeyPepper,
    async close() {
      await worker?.stop();
      await queues.close();
      await gateway.close();
      for (const app of apps) await app.close();
      await usage?.stop();
      await events.close();
      await chatHub.close();
      await db.$disconnect();
      redis.disconnect();
    },
  };
}

/**
 * Another gateway instance (listening on a free port) in front of the stack's subgraphs, with
 * its own authentication cache and `overrides` of the stack's configuration.
 */
export async function startGateway(
  stack: Stack,
  overrides: Record<string, string> = {},
  options: { logger?: Logger } = {},
): Promise<{ url: string; app: FastifyInstance }> {
  const env = parseEnv(gatewayEnvSchema, {
    ...Object.fromEntries(
      Object.entries(stack.env).flatMap(([k, v]) =>
        v === undefined ? [] : [[k, Array.isArray(v) ? v.join(",") : String(v)]],
      ),
    ),
    ...overrides,
  });
  const app = await createGatewayApp({
    env,
    db: stack.db,
    redis: stack.redis,
    keys: stack.keys,
    apiKeyPepper: stack.apiKeyPepper,
    logger: options.logger ?? createLogger("test", TEST_LOG_LEVEL),
  });
  return { url: await listen(app), app };
}

/** An organization with an owner, and helpers to add members and keys to it. */
export interface TestOrg {
  organizationId: string;
  ownerId: string;
  /** The owner's API key (all owner scopes). */
  ownerKey: string;
  /** A new member with `role`; returns the user id, an access token and an API key. */
  member(role: Role, keyScopes?: string[]): Promise<{ userId: string; token: string; apiKey: string }>;
  /** An access token (JWT) for a user of this organization. */
  token(userId: string): Promise<string>;
}

let counter = 0;

export async function createTestOrg(stack: Stack, name = "Acme"): Promise<TestOrg> {
  const unique = `${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const created = await createOrganization(stack.db, stack.apiKeyPepper, {
    name: `${name} ${unique}`,
    ownerEmail: `owner-${unique}@example.test`,
  });
  const token = async (userId: string) =>
    (
      await issueAccessToken(
        stack.keys,
        { userId, organizationId: created.organizationId },
        { issuer: stack.env.JWT_ISSUER, ttlSeconds: 600 },
      )
    ).token;
  return {
    organizationId: created.organizationId,
    ownerId: created.userId,
    ownerKey: created.apiKey,
    token,
    async member(role, keyScopes) {
      const user = await stack.db.user.create({
        data: { email: `${role}-${unique}-${counter++}@example.test`, name: role },
      });
      await stack.db.membership.create({ data: { organizationId: created.organizationId, userId: user.id, role } });
      const generated = generateApiKey(stack.apiKeyPepper);
      const { ROLE_SCOPES } = await import("@sprintconnect/core");
      await stack.db.apiKey.create({
        data: {
          organizationId: created.organizationId,
          userId: user.id,
          name: `${role} key`,
          prefix: generated.prefix,
          hash: generated.hash,
          scopes: keyScopes ?? [...ROLE_SCOPES[role]],
        },
      });
      return { userId: user.id, token: await token(user.id), apiKey: generated.key };
    },
  };
}

import {
  ChatEventLog,
  createOutputs,
  createSecretStore,
  type Logger,
  type Outputs,
  type PrismaClient,
  type Redis,
  resolveAppDatabaseUrl,
  type WorkerEnv,
} from "@sprintconnect/core";
import {
  chatTurnJob,
  discoveryJob,
  healthCheckJob,
  JobQueues,
  pingJob,
  webhookDeliveryJob,
  webhookDeliveryJobId,
} from "@sprintconnect/jobs";
import { EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import { loadAgentConfig } from "./chat/agent-config";
import { ChatRepository } from "./chat/chat.repository";
import { McpConnectionPool } from "./chat/connection-pool";
import { ChatControlHub } from "./chat/control-hub";
import type { ChatTurnRunner } from "./chat/turn-runner";
import { DiscoveryRunner } from "./discovery/discovery-runner";
import { HealthRunner } from "./health/health-runner";
import { WorkerMetrics } from "./metrics";
import { OutboxRelay } from "./relay/outbox-relay";
import { WebhookDeliverer } from "./webhooks/webhook-deliverer";
import { createDeliveries } from "./webhooks/webhook-fanout";
import { type SweptDelivery, WebhookSweeper } from "./webhooks/webhook-sweeper";

/** Ping jobs (no work: they measure the queue path) one worker runs at once. */
const PING_CONCURRENCY = 16;

/** How long a chat connection to an MCP server nobody uses stays open for the next turn. */
const CHAT_CONNECTION_IDLE_MS = 60_000;

export interface WorkerDeps {
  env: WorkerEnv;
  db: PrismaClient;
  redis: Redis;
  logger: Logger;
  secretStoreKey: Buffer;
}

export interface RunningWorker {
  queues: JobQueues;
  relay: OutboxRelay;
  outputs: Outputs;
  metrics: WorkerMetrics;
  /** Stops taking jobs, lets running ones finish (up to SHUTDOWN_TIMEOUT_SECONDS), stops the relay. */
  stop(): Promise<void>;
}

/**
 * The worker: Bee-Queue consumers for discovery, health checks and chat turns, and the outbox relay.
 * Every outbound connection goes through one egress guard built from ALLOWED_EGRESS_HOSTS.
 */
export async function startWorker(deps: WorkerDeps): Promise<RunningWorker> {
  const { env, db, logger } = deps;
  const policy = parseEgressPolicy(env.ALLOWED_EGRESS_HOSTS);
  const agentConfig = loadAgentConfig(env.LANGGRAPH_CONFIG_PATH);
  const guard = new EgressGuard(policy, {
    timeoutMs: Math.max(env.DISCOVERY_TIMEOUT_SECONDS, env.HEALTH_CHECK_TIMEOUT_SECONDS) * 1000,
    logger,
  });
  const secrets = createSecretStore(env, db, deps.secretStoreKey, logger);
  const queues = new JobQueues({
    redisUrl: env.REDIS_URL,
    isWorker: true,
    stallIntervalMs: env.WORKER_STALL_INTERVAL_MS,
    prefix: env.JOB_QUEUE_PREFIX,
    onError: (err, queue) => logger.warn({ err, queue }, "job queue error"),
    groupConcurrency: { redis: deps.redis, limit: env.WORKER_ORG_CONCURRENCY },
  });
  const metrics = new WorkerMetrics({ queues, db });
  // Reports go under OUTPUTS_DIR, and to S3 when configured (through the egress guard).
  const outputs = await createOutputs(env, { logger, egress: guard, registry: metrics.registry }).catch(
    async (error: unknown) => {
      await queues.close();
      throw error;
    },
  );

  const discovery = new DiscoveryRunner({
    db,
    secrets,
    fetch: guard.fetch,
    outputs,
    logger: logger.child({ job: discoveryJob.name }),
    timeoutMs: env.DISCOVERY_TIMEOUT_SECONDS * 1000,
    budget: {
      maxCapabilities: env.DISCOVERY_MAX_CAPABILITIES,
      maxBytes: env.DISCOVERY_MAX_BYTES,
      maxMs: env.DISCOVERY_MAX_SECONDS * 1000,
    },
  });
  const health = new HealthRunner({
    db,
    secrets,
    fetch: guard.fetch,
    outputs,
    logger: logger.child({ job: healthCheckJob.name }),
    timeoutMs: env.HEALTH_CHECK_TIMEOUT_SECONDS * 1000,
    degradedAfterMs: env.HEALTH_CHECK_DEGRADED_LATENCY_MS,
    threshold: env.HEALTH_CHECK_FAILURE_THRESHOLD,
  });
  const chatGuard = new EgressGuard(policy, { timeoutMs: env.CHAT_TOOL_TIMEOUT_SECONDS * 1000 });
  const llmGuard = new EgressGuard(policy, { timeoutMs: env.CHAT_TURN_TIMEOUT_SECONDS * 1000 });
  const chatControl = new ChatControlHub(env.REDIS_URL, logger);
  const chatPool = new McpConnectionPool({
    fetch: chatGuard.fetch,
    timeoutMs: env.CHAT_TOOL_TIMEOUT_SECONDS * 1000,
    idleMs: CHAT_CONNECTION_IDLE_MS,
    logger,
  });
  // The agent (LangChain, LangGraph and the provider SDKs: ~30 MB of a worker's memory) loads
  // with the first chat turn, not at start: a worker may never run one.
  let chat: ChatTurnRunner | null = null;
  const chatRunner = (): ChatTurnRunner => {
    if (chat) return chat;
    // `require`, not `import()`: a plain CommonJS load, the same under tsc's output and jest.
    const { ChatTurnRunner } = require("./chat/turn-runner") as typeof import("./chat/turn-runner");
    chat = new ChatTurnRunner({
      env,
      db,
      repo: new ChatRepository(db),
      secrets,
      pool: chatPool,
      llmFetch: llmGuard.fetch,
      events: new ChatEventLog(deps.redis, {
        size: env.CHAT_EVENT_LOG_SIZE,
        ttlSeconds: env.CHAT_EVENT_LOG_TTL_SECONDS,
      }),
      control: chatControl,
      config: agentConfig,
      logger: logger.child({ job: chatTurnJob.name }),
    });
    return chat;
  };
  queues.process(
    discoveryJob,
    env.WORKER_DISCOVERY_CONCURRENCY,
    metrics.timed(discoveryJob.name, (payload, job) =>
      discovery.run(payload, { id: job.id, finalAttempt: job.attempt > discoveryJob.retries }),
    ),
  );
  queues.process(
    healthCheckJob,
    env.WORKER_HEALTH_CONCURRENCY,
    metrics.timed(healthCheckJob.name, (payload) => health.check(payload)),
  );
  queues.process(
    chatTurnJob,
    env.WORKER_CHAT_CONCURRENCY,
    metrics.timed(chatTurnJob.name, (payload, job) =>
      chatRunner().run(payload, { finalAttempt: job.attempt > chatTurnJob.retries }),
    ),
  );
  queues.process(
    pingJob,
    PING_CONCURRENCY,
    metrics.timed(pingJob.name, async () => undefined),
  );
  // --- webhooks (issue 10) ---
  // Its own guard: webhook time and size limits, and no redirects followed.
  const webhookGuard = new EgressGuard(policy, {
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    maxResponseBytes: env.WEBHOOK_RESPONSE_MAX_BYTES,
    logger,
  });
  const queueDeliveries = (deliveries: ReadonlyArray<SweptDelivery & { at?: Date }>) =>
    Promise.all(
      deliveries.map((d) =>
        queues.enqueue(
          webhookDeliveryJob,
          { deliveryId: d.deliveryId, organizationId: d.organizationId },
          { jobId: webhookDeliveryJobId(d.deliveryId, d.attempt), ...(d.at ? { delayUntil: d.at } : {}) },
        ),
      ),
    ).then(() => undefined);
  const webhooks = new WebhookDeliverer({
    db,
    secrets,
    fetch: webhookGuard.fetch,
    logger: logger.child({ job: webhookDeliveryJob.name }),
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
    retryBaseMs: env.WEBHOOK_RETRY_BASE_MS,
    retryMaxMs: env.WEBHOOK_RETRY_MAX_MS,
    maxConsecutiveFailures: env.WEBHOOK_MAX_CONSECUTIVE_FAILURES,
    schedule: (next) => queueDeliveries([next]),
  });
  queues.process(
    webhookDeliveryJob,
    env.WORKER_WEBHOOK_CONCURRENCY,
    metrics.timed(webhookDeliveryJob.name, (payload) => webhooks.attempt(payload)),
  );
  const sweeper = new WebhookSweeper(db, queueDeliveries, logger.child({ component: "webhook-sweeper" }), {
    intervalMs: env.WEBHOOK_SWEEP_INTERVAL_MS,
  });
  // --- end webhooks ---
  await queues.ready();

  const relay = new OutboxRelay(db, deps.redis, logger.child({ component: "outbox-relay" }), {
    pollIntervalMs: env.OUTBOX_POLL_INTERVAL_MS,
    // Woken by the commit of every event (its own connection, as the application role).
    listenUrl: resolveAppDatabaseUrl(env),
    // webhooks (issue 10): a new delivery is attempt 1
    webhooks: {
      createDeliveries,
      enqueue: (deliveries) => queueDeliveries(deliveries.map((d) => ({ ...d, attempt: 1 }))),
    },
  });
  relay.start();
  sweeper.start(); // webhooks (issue 10)
  logger.info(
    { discoveryConcurrency: env.WORKER_DISCOVERY_CONCURRENCY, healthConcurrency: env.WORKER_HEALTH_CONCURRENCY },
    "worker started",
  );
  return {
    queues,
    relay,
    outputs,
    metrics,
    async stop() {
      const unfinished = await queues.close(env.SHUTDOWN_TIMEOUT_SECONDS * 1000);
      if (unfinished > 0) logger.warn("jobs were still running at shutdown; another worker will recover them");
      await relay.stop();
      await sweeper.stop(); // webhooks (issue 10)
      await chatControl.close();
      await chatPool.close();
      await outputs.close(env.SHUTDOWN_TIMEOUT_SECONDS * 1000);
      await Promise.all([guard.close(), chatGuard.close(), llmGuard.close(), webhookGuard.close()]);
    },
  };
}

import { randomUUID } from "node:crypto";
import { createSecretStore, type Logger, type PrismaClient, type SecretStoreEnv } from "@sprintconnect/core";
import { JobQueues, webhookDeliveryJob, webhookDeliveryJobId } from "@sprintconnect/jobs";
import { EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import type { WebhookDeps } from "./webhook.service";

/** The webhooks module's egress check, secret store and delivery queue, from configuration. */
export function createWebhookDeps(options: {
  env: { ALLOWED_EGRESS_HOSTS: string[]; REDIS_URL: string; JOB_QUEUE_PREFIX: string } & SecretStoreEnv;
  db: PrismaClient;
  logger: Logger;
  secretStoreKey: Buffer;
  /** The queues to use (tests pass theirs); default: producer queues on REDIS_URL. */
  queues?: JobQueues;
}): WebhookDeps {
  const { env } = options;
  const queues =
    options.queues ?? new JobQueues({ redisUrl: env.REDIS_URL, isWorker: false, prefix: env.JOB_QUEUE_PREFIX });
  return {
    egress: new EgressGuard(parseEgressPolicy(env.ALLOWED_EGRESS_HOSTS), { logger: options.logger }),
    // The store SECRET_STORE names, as the worker that signs with it reads it.
    secrets: createSecretStore(env, options.db, options.secretStoreKey, options.logger),
    enqueueDelivery: async ({ deliveryId, organizationId, attempt }) => {
      await queues.enqueue(
        webhookDeliveryJob,
        { deliveryId, organizationId },
        { jobId: webhookDeliveryJobId(deliveryId, attempt, randomUUID()) },
      );
    },
  };
}

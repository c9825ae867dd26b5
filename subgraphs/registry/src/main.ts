import "./instrumentation"; // first: traces (issue 10), before anything it instruments loads
import { createSecretStore, readAccessEpoch } from "@sprintconnect/core";
import { JobQueues, requestDiscovery } from "@sprintconnect/jobs";
import { EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import { runSubgraph } from "@sprintconnect/subgraph-kit";
import { buildRegistrySchema } from "./schema";

void runSubgraph({
  name: "registry",
  defaultPort: 4001,
  buildSchema: ({ env, db, logger, secretStoreKey, usage, redis }) => {
    const queues = new JobQueues({ redisUrl: env.REDIS_URL, isWorker: false, prefix: env.JOB_QUEUE_PREFIX });
    return buildRegistrySchema(db, {
      egress: new EgressGuard(parseEgressPolicy(env.ALLOWED_EGRESS_HOSTS), { logger }),
      secrets: createSecretStore(env, db, secretStoreKey, logger),
      requestDiscovery: (request) => requestDiscovery(db, queues, request),
      logger,
      maxServersPerOrganization: env.MAX_SERVERS_PER_ORGANIZATION,
      usage,
      policyCacheTtlSeconds: env.POLICY_CACHE_TTL_SECONDS,
      accessEpoch: (organizationId) => readAccessEpoch(redis, organizationId),
    });
  },
});

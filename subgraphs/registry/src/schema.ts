import { type PrismaClient, readsOf } from "@sprintconnect/core";
import { buildFederatedSchema, requestLoader } from "@sprintconnect/subgraph-kit";
import type { GraphQLSchema } from "graphql";
import { CapabilityQueries } from "./modules/capabilities/capability.queries";
import { CapabilityRepository } from "./modules/capabilities/capability.repository";
import { CapabilityResolver } from "./modules/capabilities/capability.resolver";
import { CapabilityService } from "./modules/capabilities/capability.service";
import { ChangesResolver } from "./modules/changes/change.resolver";
import { attachLivePolicies, LivePolicies } from "./modules/changes/live-policies";
import { SearchRepository } from "./modules/discovery/search.repository";
import { SearchResolver } from "./modules/discovery/search.resolver";
import { SearchService } from "./modules/discovery/search.service";
import { HistoryQueries } from "./modules/history/history.queries";
import { HistoryResolver } from "./modules/history/history.resolver";
import { HistoryService } from "./modules/history/history.service";
import { ServerQueries } from "./modules/servers/server.queries";
import { ServerRepository } from "./modules/servers/server.repository";
import { ServerResolver } from "./modules/servers/server.resolver";
import { type RegistryDeps, ServerService } from "./modules/servers/server.service";
import { CallerPolicies, DEFAULT_POLICY_CACHE_TTL_SECONDS } from "./modules/shared/caller-policies";

export type { RegistryDeps } from "./modules/servers/server.service";

/**
 * The registry subgraph's schema, with its services wired to `db` and `deps`. Queries read
 * through the `*.queries.ts` read models (Kysely on `db`'s pool); mutations write, and read
 * inside their transactions, through the `*.repository.ts` (Prisma).
 */
export async function buildRegistrySchema(db: PrismaClient, deps: RegistryDeps): Promise<GraphQLSchema> {
  const reads = readsOf(db);
  const servers = new ServerQueries(reads);
  const policies = new CallerPolicies(db, {
    ttlSeconds: deps.policyCacheTtlSeconds ?? DEFAULT_POLICY_CACHE_TTL_SECONDS,
  });
  const serverService = new ServerService(db, new ServerRepository(db), servers, deps, policies);
  const searchService = new SearchService(new SearchRepository(db), servers, policies, deps.usage ?? null);
  const capabilityService = new CapabilityService(
    db,
    new CapabilityRepository(),
    new CapabilityQueries(reads),
    servers,
    policies,
  );
  const instances = new Map<unknown, unknown>([
    [ServerResolver, new ServerResolver(serverService)],
    [CapabilityResolver, new CapabilityResolver(capabilityService)],
    [SearchResolver, new SearchResolver(searchService)],
    [HistoryResolver, new HistoryResolver(new HistoryService(new HistoryQueries(reads), servers, policies))],
    // Subscriptions read live events from the context (`context.events`), not from the database.
    [ChangesResolver, new ChangesResolver()],
  ]);
  const schema = await buildFederatedSchema({
    resolvers: [ServerResolver, CapabilityResolver, SearchResolver, HistoryResolver, ChangesResolver],
    container: { get: (cls) => instances.get(cls) },
    referenceResolvers: {
      // The scopes of `mcpServer` and `mcpServerCapabilities`: a chat-only key that gets a
      // server reference from `createChatSession` may not read the server through it.
      McpServer: {
        scopes: ["servers:read"],
        // The gateway resolves many references in one request (e.g. every chat session's
        // servers): one query for all of them.
        resolve: (ref, principal, context) =>
          requestLoader(context, "servers", (ids) => serverService.getMany(principal, ids)).load(String(ref.id)),
      },
      McpCapability: {
        scopes: ["servers:read"],
        resolve: (ref, principal, context) =>
          requestLoader(context, "capabilities", (ids) => capabilityService.getMany(principal, ids)).load(
            String(ref.id),
          ),
      },
    },
  });
  // Subscriptions decide each event with the policies kept current for their organizations.
  attachLivePolicies(
    schema.getSubscriptionType()?.getFields() ?? {},
    new LivePolicies(policies, deps.accessEpoch ?? null, deps.logger),
  );
  return schema;
}

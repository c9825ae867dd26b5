import type { PrismaClient } from "@sprintconnect/core";
import { buildFederatedSchema } from "@sprintconnect/subgraph-kit";
import type { GraphQLSchema } from "graphql";
import { SummaryRepository } from "./modules/summary/summary.repository";
import { SummaryResolver } from "./modules/summary/summary.resolver";
import { SummaryService } from "./modules/summary/summary.service";
import { UsageRepository } from "./modules/usage/usage.repository";
import { UsageResolver } from "./modules/usage/usage.resolver";
import { UsageService } from "./modules/usage/usage.service";

/** The metrics subgraph's schema, with its services wired to `db`. */
export function buildMetricsSchema(db: PrismaClient): Promise<GraphQLSchema> {
  const usageService = new UsageService(new UsageRepository(db));
  const summaryService = new SummaryService(db, new SummaryRepository(db));
  const instances = new Map<unknown, unknown>([
    [UsageResolver, new UsageResolver(usageService)],
    [SummaryResolver, new SummaryResolver(summaryService)],
  ]);
  return buildFederatedSchema({
    resolvers: [UsageResolver, SummaryResolver],
    container: { get: (cls) => instances.get(cls) },
    referenceResolvers: {
      UsageEvent: {
        scopes: ["metrics:read"],
        resolve: (ref, principal) => usageService.find(principal, String(ref.id)),
      },
    },
  });
}

import type { PrismaClient } from "@sprintconnect/core";
import { buildFederatedSchema } from "@sprintconnect/subgraph-kit";
import type { GraphQLSchema } from "graphql";
import { AvailabilityRepository } from "./modules/availability/availability.repository";
import { AvailabilityResolver } from "./modules/availability/availability.resolver";
import { AvailabilityService } from "./modules/availability/availability.service";
import { BudgetResolver } from "./modules/budget/budget.resolver";
import { BudgetService } from "./modules/budget/budget.service";
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
    [BudgetResolver, new BudgetResolver(new BudgetService(db))],
    [AvailabilityResolver, new AvailabilityResolver(new AvailabilityService(new AvailabilityRepository(db)))],
  ]);
  return buildFederatedSchema({
    resolvers: [UsageResolver, SummaryResolver, AvailabilityResolver, BudgetResolver],
    container: { get: (cls) => instances.get(cls) },
    referenceResolvers: {
      UsageEvent: {
        scopes: ["metrics:read"],
        resolve: (ref, principal) => usageService.find(principal, String(ref.id)),
      },
    },
  });
}

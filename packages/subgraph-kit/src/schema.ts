import "reflect-metadata";
import { buildSubgraphSchema, type GraphQLResolverMap, printSubgraphSchema } from "@apollo/subgraph";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { type GraphQLSchema, lexicographicSortSchema, specifiedDirectives } from "graphql";
import gql from "graphql-tag";
import { buildSchema, createResolversMap, type NonEmptyArray } from "type-graphql";
import { authChecker } from "./auth";

/** The Federation 2 link every subgraph declares. */
const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@external", "@requires", "@provides"])';

/**
 * Subscriptions read live events from the context (`context.events`, see `EventSource`) through
 * `@Subscription({ subscribe })`; type-graphql's topic-based PubSub is not used, but type-graphql
 * wants one as soon as a schema has a subscription.
 */
const NO_PUB_SUB = {
  publish: () => {
    throw new Error("Publish events through the outbox (emitEvent), not through type-graphql");
  },
  subscribe: () => {
    throw new Error("Use @Subscription({ subscribe }) with context.events, not topics");
  },
};

/** Resolves an entity from its key fields, e.g. `{ McpServer: (ref, ctx) => ... }`. */
export type ReferenceResolvers = Record<string, (reference: Record<string, unknown>, context: unknown) => unknown>;

export interface SubgraphSchemaOptions {
  // biome-ignore lint/complexity/noBannedTypes: type-graphql's own resolver class type.
  resolvers: NonEmptyArray<Function>;
  /** Resolves resolver class instances (services injected by the subgraph). */
  container?: { get(someClass: unknown): unknown };
  /** `__resolveReference` for each entity type this subgraph owns. */
  referenceResolvers?: ReferenceResolvers;
  // biome-ignore lint/complexity/noBannedTypes: type-graphql's own type list.
  orphanedTypes?: Function[];
}

/**
 * Builds a federated subgraph schema from type-graphql classes: type-graphql produces the
 * types, their SDL (with `@key` and other directives) is printed and handed to
 * `buildSubgraphSchema` together with type-graphql's resolvers.
 */
export async function buildFederatedSchema(options: SubgraphSchemaOptions): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: options.resolvers,
    orphanedTypes: options.orphanedTypes,
    container: options.container as never,
    authChecker,
    authMode: "error",
    validate: false,
    skipCheck: true,
    directives: [...specifiedDirectives],
    pubSub: NO_PUB_SUB,
  });
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<unknown>;
  for (const [typeName, resolveReference] of Object.entries(options.referenceResolvers ?? {})) {
    resolvers[typeName] = { ...(resolvers[typeName] as object), __resolveReference: resolveReference } as never;
  }
  return buildSubgraphSchema([
    {
      typeDefs: gql(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(lexicographicSortSchema(schema))}`),
      resolvers,
    },
  ]);
}

/** The SDL a subgraph contributes to the supergraph (what `_service { sdl }` answers). */
export function subgraphSdl(schema: GraphQLSchema): string {
  return `${printSubgraphSchema(schema).trim()}\n`;
}

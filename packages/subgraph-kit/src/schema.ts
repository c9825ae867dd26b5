import "reflect-metadata";
import { buildSubgraphSchema, type GraphQLResolverMap, printSubgraphSchema } from "@apollo/subgraph";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import type { Principal, Scope } from "@sprintconnect/core";
import {
  type GraphQLObjectType,
  type GraphQLSchema,
  isUnionType,
  Kind,
  lexicographicSortSchema,
  specifiedDirectives,
} from "graphql";
import gql from "graphql-tag";
import { buildSchema, createResolversMap, getMetadataStorage, type NonEmptyArray } from "type-graphql";
import { authChecker, authorize } from "./auth";
import type { SubgraphContext } from "./context";

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

/**
 * How an entity is resolved from its key fields (`_entities`, which the gateway calls when
 * another subgraph returns a reference, e.g. `createChatSession { servers { baseUrl } }`).
 * `scopes` are those of the root fields that read the type: `resolve` runs only for a caller
 * that has them, through the same check as `@Authorized`.
 */
export interface ReferenceResolver {
  scopes: readonly Scope[];
  resolve(reference: Record<string, unknown>, principal: Principal, context: SubgraphContext): unknown;
}

/** The reference resolver of every entity type a subgraph owns, by type name. */
export type ReferenceResolvers = Record<string, ReferenceResolver>;

export interface SubgraphSchemaOptions {
  // biome-ignore lint/complexity/noBannedTypes: type-graphql's own resolver class type.
  resolvers: NonEmptyArray<Function>;
  /** Resolves resolver class instances (services injected by the subgraph). */
  container?: { get(someClass: unknown): unknown };
  /** How each entity type this subgraph owns (a resolvable `@key`) is resolved; every one needs one. */
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
  withoutPlainFieldResolvers(resolvers);
  const references = options.referenceResolvers ?? {};
  for (const [typeName, reference] of Object.entries(references)) {
    const __resolveReference = (ref: Record<string, unknown>, context: SubgraphContext) =>
      reference.resolve(ref, authorize(context, reference.scopes), context);
    resolvers[typeName] = { ...(resolvers[typeName] as object), __resolveReference } as never;
  }
  const federated = buildSubgraphSchema([
    {
      typeDefs: gql(`${FEDERATION_LINK}\n\n${printSchemaWithDirectives(lexicographicSortSchema(schema))}`),
      resolvers,
    },
  ]);
  // Without a reference resolver, `_entities` would echo the representation back unchecked.
  const entities = federated.getType("_Entity");
  const unresolved = isUnionType(entities)
    ? entities.getTypes().filter((t) => isResolvableEntity(t) && !(t.name in references))
    : [];
  if (unresolved.length > 0) {
    throw new Error(`Entity types without a reference resolver (and its scopes): ${unresolved.join(", ")}`);
  }
  return federated;
}

/**
 * Removes the resolvers type-graphql gives every plain field (`root[name]` behind its middleware
 * runner), where the field has no middleware, no `@Authorized` and no name of its own: the
 * default resolver reads the same property. graphql-jit (executor.ts) reads such a field inline
 * in its generated code but has to call a resolver through its generic path, which cost the
 * registry's list half of what graphql-jit saves. A type-graphql type may be declared more than
 * once in a process (the chat subgraph's `McpServer` reference): a field loses its resolver only
 * if every declaration of its type declares it plainly, and types that inherit fields (a base
 * class or interfaces) keep theirs.
 */
function withoutPlainFieldResolvers(resolvers: GraphQLResolverMap<unknown>): void {
  const storage = getMetadataStorage();
  const computed = new Set<string>();
  for (const resolver of storage.fieldResolvers) {
    // Unknown owner (or an interface): the field keeps its resolver in every type.
    const owner = resolver.getObjectType?.();
    const ownerNames = storage.objectTypes.filter((t) => owner && t.target === owner).map((t) => t.name);
    for (const name of ownerNames.length > 0 ? ownerNames : ["*"]) computed.add(`${name}.${resolver.schemaName}`);
  }
  const plain = new Map<string, boolean>();
  const inherits = new Set<string>();
  for (const type of storage.objectTypes) {
    if ((type.interfaceClasses?.length ?? 0) > 0 || Object.getPrototypeOf(type.target) !== Function.prototype) {
      inherits.add(type.name);
    }
    for (const field of type.fields ?? []) {
      const key = `${type.name}.${field.schemaName}`;
      const isPlain =
        field.name === field.schemaName &&
        field.roles === undefined &&
        (field.middlewares?.length ?? 0) === 0 &&
        !computed.has(key) &&
        !computed.has(`*.${field.schemaName}`);
      plain.set(key, (plain.get(key) ?? true) && isPlain);
    }
  }
  for (const [typeName, fields] of Object.entries(resolvers)) {
    if (inherits.has(typeName) || typeof fields !== "object" || fields === null) continue;
    for (const fieldName of Object.keys(fields)) {
      if (!fieldName.startsWith("__") && plain.get(`${typeName}.${fieldName}`) === true) {
        delete (fields as Record<string, unknown>)[fieldName];
      }
    }
  }
}

/** Whether a type has a `@key` this subgraph resolves (not only `resolvable: false` references). */
function isResolvableEntity(type: GraphQLObjectType): boolean {
  return (type.astNode?.directives ?? []).some(
    (d) =>
      d.name.value === "key" &&
      !d.arguments?.some((a) => a.name.value === "resolvable" && a.value.kind === Kind.BOOLEAN && !a.value.value),
  );
}

/** The SDL a subgraph contributes to the supergraph (what `_service { sdl }` answers). */
export function subgraphSdl(schema: GraphQLSchema): string {
  return `${printSubgraphSchema(schema).trim()}\n`;
}

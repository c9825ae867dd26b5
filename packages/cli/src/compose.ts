import { composeServices } from "@apollo/composition";
import { type AdminSchemaOptions, buildAdminSchema, type LoginOptions } from "@sprintconnect/admin-subgraph";
import { buildChatSchema, type ChatSchemaDeps } from "@sprintconnect/chat-subgraph";
import { type CliEnv, cliEnvSchema, type KeyRing, type PrismaClient, parseEnv } from "@sprintconnect/core";
import { buildMetricsSchema } from "@sprintconnect/metrics-subgraph";
import { buildRegistrySchema, type RegistryDeps } from "@sprintconnect/registry-subgraph";
import { subgraphSdl } from "@sprintconnect/subgraph-kit";
import { type GraphQLSchema, parse } from "graphql";

/** The subgraphs, in the order they are composed. */
export const SUBGRAPH_NAMES = ["registry", "chat", "metrics", "admin"] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** Composition failed; `errors` are Apollo's messages. */
export class CompositionError extends Error {
  constructor(readonly errors: string[]) {
    super(`Supergraph composition failed:\n${errors.map((e) => `  - ${e}`).join("\n")}`);
    this.name = "CompositionError";
  }
}

/** Where the gateway reaches each subgraph, from configuration. */
export function subgraphUrls(env: CliEnv): Record<SubgraphName, string> {
  return {
    registry: env.REGISTRY_SUBGRAPH_URL,
    chat: env.CHAT_SUBGRAPH_URL,
    metrics: env.METRICS_SUBGRAPH_URL,
    admin: env.ADMIN_SUBGRAPH_URL,
  };
}

// Building a schema only wires resolvers to the database; nothing touches it until a
// resolver runs, so an empty stand-in is enough to print the SDL.
const NO_DB = {} as PrismaClient;

const builders: Record<SubgraphName, () => Promise<GraphQLSchema>> = {
  // Only the types matter here: no resolver runs while composing.
  registry: () => buildRegistrySchema(NO_DB, {} as RegistryDeps),
  chat: () => buildChatSchema(NO_DB, {} as ChatSchemaDeps),
  metrics: () => buildMetricsSchema(NO_DB),
  admin: () =>
    buildAdminSchema(NO_DB, {
      apiKeyPepper: "unused: no key is issued while composing",
      keys: {} as KeyRing, // and no audit anchor signed
      invalidate: async () => undefined, // nor any key revoked
      accessChanged: async () => undefined, // nor any policy changed
      login: {} as LoginOptions, // nor anyone logged in
      webhooks: {} as AdminSchemaOptions["webhooks"], // webhooks (issue 10): nor any webhook created
    }),
};

/**
 * Prints each subgraph's SDL and composes the static supergraph the gateway serves. Writes
 * nothing: `schema compose` writes the result under `schema/`, and a test compares it with
 * the committed files. Throws CompositionError when the subgraphs do not compose.
 */
export async function composeSupergraph(
  urls: Record<SubgraphName, string> = subgraphUrls(parseEnv(cliEnvSchema, process.env)),
): Promise<{ subgraphs: Record<SubgraphName, string>; supergraphSdl: string }> {
  const subgraphs = {} as Record<SubgraphName, string>;
  for (const name of SUBGRAPH_NAMES) {
    subgraphs[name] = subgraphSdl(await builders[name]());
  }
  const result = composeServices(
    SUBGRAPH_NAMES.map((name) => ({ name, url: urls[name], typeDefs: parse(subgraphs[name]) })),
  );
  if (result.errors) throw new CompositionError(result.errors.map((e) => e.message));
  const sdl = result.supergraphSdl;
  return { subgraphs, supergraphSdl: sdl.endsWith("\n") ? sdl : `${sdl}\n` };
}

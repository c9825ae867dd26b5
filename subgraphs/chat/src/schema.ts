import type { PrismaClient } from "@sprintconnect/core";
import { buildFederatedSchema } from "@sprintconnect/subgraph-kit";
import type { GraphQLSchema } from "graphql";
import { ServerRepository } from "./modules/servers/server.repository";
import { SessionRepository } from "./modules/sessions/session.repository";
import { SessionResolver } from "./modules/sessions/session.resolver";
import { SessionService } from "./modules/sessions/session.service";

/** The chat subgraph's schema, with its services wired to `db`. */
export function buildChatSchema(db: PrismaClient): Promise<GraphQLSchema> {
  const sessionService = new SessionService(db, new SessionRepository(db), new ServerRepository(db));
  const instances = new Map<unknown, unknown>([[SessionResolver, new SessionResolver(sessionService)]]);
  return buildFederatedSchema({
    resolvers: [SessionResolver],
    container: { get: (cls) => instances.get(cls) },
    referenceResolvers: {
      ChatSession: {
        scopes: ["chat:read"],
        resolve: (ref, principal) => sessionService.find(principal, String(ref.id)),
      },
    },
  });
}

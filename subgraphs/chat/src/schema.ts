import type { PrismaClient } from "@sprintconnect/core";
import { buildFederatedSchema } from "@sprintconnect/subgraph-kit";
import type { GraphQLSchema } from "graphql";
import type { ChatEventHub } from "./modules/events/chat-event.hub";
import { ChatEventResolver, setChatEventDeps } from "./modules/events/chat-event.resolver";
import { MessageRepository } from "./modules/messages/message.repository";
import { ServerRepository } from "./modules/servers/server.repository";
import { SessionRepository } from "./modules/sessions/session.repository";
import { SessionResolver } from "./modules/sessions/session.resolver";
import { SessionService } from "./modules/sessions/session.service";
import { HistoryService } from "./modules/turns/history.service";
import { TurnRepository } from "./modules/turns/turn.repository";
import { TurnResolver } from "./modules/turns/turn.resolver";
import { type ChatRuntime, TurnService } from "./modules/turns/turn.service";

export interface ChatSchemaDeps extends ChatRuntime {
  /** Live chat events for `chatEvents` (the caller owns it and closes it after the app). */
  hub: ChatEventHub;
}

/** The chat subgraph's schema, with its services wired to `db`, the turn queue and the event log. */
export async function buildChatSchema(db: PrismaClient, deps: ChatSchemaDeps): Promise<GraphQLSchema> {
  const sessionService = new SessionService(db, new SessionRepository(db), new ServerRepository(db));
  const messages = new MessageRepository(db);
  const history = new HistoryService(messages);
  const turnService = new TurnService(db, sessionService, new TurnRepository(db), messages, deps);
  const instances = new Map<unknown, unknown>([
    [SessionResolver, new SessionResolver(sessionService)],
    [TurnResolver, new TurnResolver(turnService, history)],
    [ChatEventResolver, new ChatEventResolver()],
  ]);
  const schema = await buildFederatedSchema({
    resolvers: [SessionResolver, TurnResolver, ChatEventResolver],
    container: { get: (cls) => instances.get(cls) },
    referenceResolvers: {
      ChatSession: {
        scopes: ["chat:read"],
        resolve: (ref, principal) => sessionService.find(principal, String(ref.id)),
      },
    },
  });
  setChatEventDeps(schema, { hub: deps.hub, sessions: sessionService, history });
  return schema;
}

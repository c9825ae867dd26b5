import type { ChatEventRecord } from "@sprintconnect/core";
import { requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import type { GraphQLResolveInfo, GraphQLSchema } from "graphql";
import { Arg, Authorized, Ctx, FieldResolver, ID, Info, Int, Resolver, Root, Subscription } from "type-graphql";
import type { ChatMessage } from "../messages/message.type";
import { ChatMessage as ChatMessageType } from "../messages/message.type";
import type { SessionService } from "../sessions/session.service";
import type { ChatEventType } from "../shared/enums";
import type { HistoryService } from "../turns/history.service";
import type { ChatEventHub } from "./chat-event.hub";
import { ChatEvent } from "./chat-event.type";

/**
 * What the subscription needs, per built schema: type-graphql runs `subscribe` outside the
 * resolver container, and a process (a test) may build more than one chat schema.
 */
export interface ChatEventDeps {
  hub: ChatEventHub;
  sessions: SessionService;
  history: HistoryService;
}

const depsBySchema = new WeakMap<GraphQLSchema, ChatEventDeps>();

export function setChatEventDeps(schema: GraphQLSchema, value: ChatEventDeps): void {
  depsBySchema.set(schema, value);
}

function toChatEvent(record: ChatEventRecord): ChatEvent {
  return {
    sessionId: record.sessionId,
    turnId: record.turnId,
    seq: record.seq,
    type: record.type as ChatEventType,
    occurredAt: new Date(record.occurredAt),
    text: record.text ?? null,
    toolCallId: record.toolCallId ?? null,
    serverId: record.serverId ?? null,
    toolName: record.toolName ?? null,
    arguments: record.arguments ?? null,
    result: record.result ?? null,
    durationMs: record.durationMs ?? null,
    messageId: record.messageId ?? null,
    message: null,
    status: record.status ?? null,
    code: record.code ?? null,
    errorMessage: record.message ?? null,
  };
}

@Resolver((_of) => ChatEvent)
export class ChatEventResolver {
  @Authorized("chat:read")
  @Subscription((_returns) => ChatEvent, {
    description:
      "A session's turns as they happen (tokens, tool calls, approvals, messages, done, error). With `after`, first the logged events after that seq",
    subscribe: async ({ args, context, info }) => {
      const ctx = context as SubgraphContext;
      const principal = requirePrincipal(ctx);
      const deps = depsBySchema.get(info.schema);
      if (!deps) throw new Error("chat events are not wired");
      const session = await deps.sessions.require(principal, String(args.sessionId));
      const after = typeof args.after === "number" ? Math.max(0, args.after) : null;
      return deps.hub.subscribe(session.id, after);
    },
  })
  chatEvents(
    @Root() record: ChatEventRecord,
    @Arg("sessionId", (_type) => ID) _sessionId: string,
    @Arg("after", (_type) => Int, { nullable: true, description: "Replay logged events with a greater seq first" })
    _after?: number,
  ): ChatEvent {
    return toChatEvent(record);
  }

  @FieldResolver((_returns) => ChatMessageType, { nullable: true })
  message(
    @Ctx() ctx: SubgraphContext,
    @Root() event: ChatEvent,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ChatMessage | null> | null {
    const deps = depsBySchema.get(info.schema);
    if (!event.messageId || !deps) return null;
    return deps.history.message(requirePrincipal(ctx), event.messageId);
  }
}

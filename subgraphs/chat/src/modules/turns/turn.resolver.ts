import { actorOf, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Resolver, Root } from "type-graphql";
import { ChatMessageConnection, ChatToolCall } from "../messages/message.type";
import { ChatSession } from "../sessions/session.type";
import type { HistoryService } from "./history.service";
import { ResolveToolApprovalInput, SendChatMessageInput } from "./turn.input";
import type { TurnService } from "./turn.service";
import { ChatTurn } from "./turn.type";

@Resolver((_of) => ChatSession)
export class TurnResolver {
  constructor(
    private readonly service: TurnService,
    private readonly history: HistoryService,
  ) {}

  @Authorized("chat:write")
  @Mutation((_returns) => ChatTurn, {
    description:
      "Stores the message and starts a turn: the agent's answer streams on chatEvents. CONFLICT while another turn runs",
  })
  sendChatMessage(
    @Ctx() ctx: SubgraphContext,
    @Arg("sessionId", (_type) => ID) sessionId: string,
    @Arg("input", (_type) => SendChatMessageInput) input: SendChatMessageInput,
  ): Promise<ChatTurn> {
    return this.service.send(actorOf(ctx, requirePrincipal(ctx)), sessionId, input);
  }

  @Authorized("chat:write")
  @Mutation((_returns) => ChatTurn, { description: "Stops the session's running turn; the partial answer is kept" })
  cancelChatTurn(@Ctx() ctx: SubgraphContext, @Arg("sessionId", (_type) => ID) sessionId: string): Promise<ChatTurn> {
    return this.service.cancel(actorOf(ctx, requirePrincipal(ctx)), sessionId);
  }

  @Authorized("chat:write")
  @Mutation((_returns) => ChatToolCall, { description: "Runs (approve) or skips a tool call that waits for a person" })
  resolveToolApproval(
    @Ctx() ctx: SubgraphContext,
    @Arg("sessionId", (_type) => ID) sessionId: string,
    @Arg("toolCallId", (_type) => ID) toolCallId: string,
    @Arg("input", (_type) => ResolveToolApprovalInput) input: ResolveToolApprovalInput,
  ): Promise<ChatToolCall> {
    return this.service.resolveApproval(actorOf(ctx, requirePrincipal(ctx)), sessionId, toolCallId, input);
  }

  @FieldResolver((_returns) => ChatMessageConnection, {
    description: "The session's messages, oldest first, with their tool calls",
  })
  messages(
    @Ctx() ctx: SubgraphContext,
    @Root() session: ChatSession,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 500; default 100" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<ChatMessageConnection> {
    return this.history.page(requirePrincipal(ctx), session.id, limit, cursor);
  }
}

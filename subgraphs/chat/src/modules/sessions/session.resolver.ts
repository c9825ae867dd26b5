import { actorOf, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { CreateChatSessionInput } from "./session.input";
import type { SessionService } from "./session.service";
import { ChatSession, ChatSessionConnection } from "./session.type";

@Resolver((_of) => ChatSession)
export class SessionResolver {
  constructor(private readonly service: SessionService) {}

  @Authorized("chat:read")
  @Query((_returns) => ChatSessionConnection, { description: "The caller's own chat sessions, newest first" })
  chatSessions(
    @Ctx() ctx: SubgraphContext,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 100; default 20" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<ChatSessionConnection> {
    return this.service.list(requirePrincipal(ctx), limit, cursor);
  }

  @Authorized("chat:read")
  @Query((_returns) => ChatSession, { description: "One of the caller's chat sessions; NOT_FOUND otherwise" })
  chatSession(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<ChatSession> {
    return this.service.get(requirePrincipal(ctx), id);
  }

  @Authorized("chat:write")
  @Mutation((_returns) => ChatSession)
  createChatSession(
    @Ctx() ctx: SubgraphContext,
    @Arg("input", (_type) => CreateChatSessionInput) input: CreateChatSessionInput,
  ): Promise<ChatSession> {
    return this.service.create(actorOf(ctx, requirePrincipal(ctx)), input);
  }

  @Authorized("chat:write")
  @Mutation((_returns) => Boolean, { description: "Deletes the session and its history for good" })
  deleteChatSession(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<boolean> {
    return this.service.delete(actorOf(ctx, requirePrincipal(ctx)), id);
  }
}

import type { ChatMessage, ChatToolCall, ChatTurn, Prisma, PrismaClient } from "@sprintconnect/core";

export type HistoryMessage = ChatMessage & {
  toolCalls: Array<Pick<ChatToolCall, "callId" | "toolName" | "arguments" | "status" | "result" | "error">>;
};

/** The worker's only Prisma code for chat: turns, messages, tool calls and their usage events. */
export class ChatRepository {
  constructor(private readonly db: PrismaClient) {}

  findTurn(turnId: string) {
    return this.db.chatTurn.findUnique({ where: { id: turnId }, include: { session: true } });
  }

  /** Moves a turn from one of `from`; false when it was in none of them. */
  async transition(turnId: string, from: ChatTurn["status"][], data: Prisma.ChatTurnUpdateManyMutationInput) {
    const { count } = await this.db.chatTurn.updateMany({ where: { id: turnId, status: { in: from } }, data });
    return count === 1;
  }

  async releaseSession(sessionId: string, turnId: string): Promise<void> {
    await this.db.chatSession.updateMany({
      where: { id: sessionId, activeTurnId: turnId },
      data: { activeTurnId: null },
    });
  }

  /**
   * The session's earlier user and assistant messages (the model's memory), oldest first, each
   * assistant message with the tool calls it asked for (their outcomes stand in for the tool messages).
   */
  async history(sessionId: string, beforeTurnId: string, limit = 50): Promise<HistoryMessage[]> {
    const rows = await this.db.chatMessage.findMany({
      where: { sessionId, role: { in: ["user", "assistant"] }, NOT: { turnId: beforeTurnId } },
      orderBy: { position: "desc" },
      take: limit,
      include: {
        toolCalls: {
          select: { callId: true, toolName: true, arguments: true, status: true, result: true, error: true },
          orderBy: [{ position: "asc" }, { createdAt: "asc" }],
        },
      },
    });
    return rows.reverse();
  }

  userMessage(turnId: string): Promise<ChatMessage | null> {
    return this.db.chatMessage.findFirst({ where: { turnId, role: "user" }, orderBy: { position: "asc" } });
  }

  createMessage(data: Prisma.ChatMessageUncheckedCreateInput): Promise<ChatMessage> {
    return this.db.chatMessage.create({ data });
  }

  /** Live servers among `ids` with the stored definitions of the tools agents may use (enabled, reviewed, present). */
  servers(organizationId: string, ids: readonly string[]) {
    return this.db.mcpServer.findMany({
      where: { organizationId, id: { in: [...ids] }, deletedAt: null },
      select: {
        id: true,
        name: true,
        baseUrl: true,
        transport: true,
        tags: true,
        environment: true,
        capabilities: {
          where: { kind: "tool", enabled: true, reviewRequired: false, removedAt: null },
          select: { id: true, name: true, inputSchema: true, definition: true },
        },
      },
    });
  }

  /** The caller's current role in the organization (access policies name roles); null once removed. */
  async memberRole(organizationId: string, userId: string): Promise<string | null> {
    const row = await this.db.membership.findUnique({
      where: { organizationId_userId: { organizationId, userId } },
      select: { role: true },
    });
    return row?.role ?? null;
  }

  findToolCall(turnId: string, callId: string): Promise<ChatToolCall | null> {
    return this.db.chatToolCall.findUnique({ where: { turnId_callId: { turnId, callId } } });
  }

  getToolCall(id: string): Promise<ChatToolCall | null> {
    return this.db.chatToolCall.findUnique({ where: { id } });
  }

  createToolCall(data: Prisma.ChatToolCallUncheckedCreateInput): Promise<ChatToolCall> {
    return this.db.chatToolCall.create({ data });
  }

  updateToolCall(id: string, data: Prisma.ChatToolCallUncheckedUpdateInput): Promise<ChatToolCall> {
    return this.db.chatToolCall.update({ where: { id }, data });
  }

  /** Moves a call awaiting approval to `status` (approval timed out); false when a person decided first. */
  async decideToolCall(id: string, status: "denied"): Promise<boolean> {
    const { count } = await this.db.chatToolCall.updateMany({
      where: { id, status: "awaiting_approval" },
      data: { status },
    });
    return count === 1;
  }

  /** Ends the tool calls a dead worker left running or awaiting approval. */
  async failUnfinishedToolCalls(turnId: string, error: string): Promise<void> {
    await this.db.chatToolCall.updateMany({
      where: { turnId, status: { in: ["running", "awaiting_approval"] } },
      data: { status: "failed", error, finishedAt: new Date() },
    });
  }

  async recordUsage(data: Prisma.UsageEventUncheckedCreateInput): Promise<void> {
    await this.db.usageEvent.create({ data });
  }
}

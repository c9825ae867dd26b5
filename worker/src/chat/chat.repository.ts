import {
  type ChatMessage,
  type ChatToolCall,
  type ChatTurn,
  jsonArrayFrom,
  type Prisma,
  type PrismaClient,
  type ReadDb,
  readsOf,
} from "@sprintconnect/core";

/** An earlier message as the model's memory needs it, with the tool calls it asked for. */
export interface HistoryMessage {
  id: string;
  role: ChatMessage["role"];
  content: string;
  toolCalls: Array<Pick<ChatToolCall, "callId" | "toolName" | "arguments" | "status" | "result" | "error">>;
}

/** A turn as the runner needs it, with its session's servers and model. */
export interface TurnRow
  extends Pick<
    ChatTurn,
    "id" | "organizationId" | "sessionId" | "userId" | "apiKeyId" | "status" | "model" | "cancelRequestedAt"
  > {
  session: { serverIds: string[]; model: string | null };
}

/**
 * The worker's only database code for chat: turns, messages, tool calls and their usage events.
 * Writes go through Prisma; the reads every turn makes before its first token (the turn, its
 * history, its servers' tools, the caller's role) through the read builder (ARCHITECTURE, Data):
 * each Prisma read cost ~0.5–1.9 ms of CPU to compile, on the path to the first token.
 */
export class ChatRepository {
  private readonly reads: ReadDb;

  constructor(private readonly db: PrismaClient) {
    this.reads = readsOf(db);
  }

  async findTurn(turnId: string): Promise<TurnRow | null> {
    const row = await this.reads
      .selectFrom("ChatTurn as t")
      .innerJoin("ChatSession as s", "s.id", "t.sessionId")
      .select([
        "t.id",
        "t.organizationId",
        "t.sessionId",
        "t.userId",
        "t.apiKeyId",
        "t.status",
        "t.model",
        "t.cancelRequestedAt",
        "s.serverIds",
        "s.model as sessionModel",
      ])
      .where("t.id", "=", turnId)
      .executeTakeFirst();
    if (!row) return null;
    const { serverIds, sessionModel, ...turn } = row;
    return { ...turn, session: { serverIds, model: sessionModel } };
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
    const rows = await this.reads
      .selectFrom("ChatMessage as m")
      .select((eb) => [
        "m.id",
        "m.role",
        "m.content",
        jsonArrayFrom(
          eb
            .selectFrom("ChatToolCall as c")
            .select(["c.callId", "c.toolName", "c.arguments", "c.status", "c.result", "c.error"])
            .whereRef("c.messageId", "=", "m.id")
            .orderBy("c.position")
            .orderBy("c.createdAt"),
        ).as("toolCalls"),
      ])
      .where("m.sessionId", "=", sessionId)
      .where("m.role", "in", ["user", "assistant"])
      .where((eb) => eb.or([eb("m.turnId", "is", null), eb("m.turnId", "!=", beforeTurnId)]))
      .orderBy("m.position", "desc")
      .limit(limit)
      .execute();
    return rows.reverse() as HistoryMessage[];
  }

  async userMessage(turnId: string): Promise<{ id: string; content: string } | null> {
    const row = await this.reads
      .selectFrom("ChatMessage")
      .select(["id", "content"])
      .where("turnId", "=", turnId)
      .where("role", "=", "user")
      .orderBy("position")
      .limit(1)
      .executeTakeFirst();
    return row ?? null;
  }

  createMessage(data: Prisma.ChatMessageUncheckedCreateInput): Promise<ChatMessage> {
    return this.db.chatMessage.create({ data });
  }

  /** Live servers among `ids` with the stored definitions of the tools agents may use (enabled, reviewed, present). */
  async servers(organizationId: string, ids: readonly string[]) {
    if (ids.length === 0) return [];
    return this.reads
      .selectFrom("McpServer as s")
      .select((eb) => [
        "s.id",
        "s.name",
        "s.baseUrl",
        "s.transport",
        "s.tags",
        "s.environment",
        jsonArrayFrom(
          eb
            .selectFrom("McpCapability as c")
            .select(["c.id", "c.name", "c.inputSchema", "c.definition"])
            .whereRef("c.serverId", "=", "s.id")
            .where("c.kind", "=", "tool")
            .where("c.enabled", "=", true)
            .where("c.reviewRequired", "=", false)
            .where("c.removedAt", "is", null)
            .orderBy("c.name"),
        ).as("capabilities"),
      ])
      .where("s.organizationId", "=", organizationId)
      .where("s.id", "in", [...ids])
      .where("s.deletedAt", "is", null)
      .execute();
  }

  /** The caller's current role in the organization (access policies name roles); null once removed. */
  async memberRole(organizationId: string, userId: string): Promise<string | null> {
    const row = await this.reads
      .selectFrom("Membership")
      .select("role")
      .where("organizationId", "=", organizationId)
      .where("userId", "=", userId)
      .executeTakeFirst();
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

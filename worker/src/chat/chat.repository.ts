import {
  type ChatMessage,
  type ChatToolCall,
  type ChatTurn,
  type McpServer,
  Prisma,
  type PrismaClient,
} from "@sprintconnect/core";

export type HistoryMessage = Pick<ChatMessage, "id" | "role" | "content"> & {
  toolCalls: Array<Pick<ChatToolCall, "callId" | "toolName" | "arguments" | "status" | "result" | "error">>;
};

/** What a running turn needs of its row and its session. */
export type TurnContext = Pick<
  ChatTurn,
  "id" | "organizationId" | "sessionId" | "userId" | "apiKeyId" | "model" | "status" | "cancelRequestedAt"
> & {
  serverIds: string[];
  sessionModel: string | null;
  /** The caller's role in the organization now (access policies name roles); null once removed. */
  memberRole: string | null;
};

/** A session's live server with the stored definitions of the tools agents may use. */
export type SessionServer = Pick<McpServer, "id" | "name" | "baseUrl" | "transport" | "tags" | "environment"> & {
  capabilities: Array<{ id: string; name: string; inputSchema: unknown; definition: unknown }>;
};

// The columns of TurnContext, for a statement over "ChatTurn" t joined with "ChatSession" s.
const TURN_CONTEXT = Prisma.sql`t.id, t."organizationId", t."sessionId", t."userId", t."apiKeyId", t.model,
  t.status::text AS status, t."cancelRequestedAt", s."serverIds", s.model AS "sessionModel",
  (SELECT m.role::text FROM "Membership" m WHERE m."organizationId" = t."organizationId" AND m."userId" = t."userId") AS "memberRole"`;

/**
 * The worker's only Prisma code for chat: turns, messages, tool calls and their usage events.
 * What a turn does before its first token is raw SQL through `$queryRaw` (one statement each, no
 * query compilation): Prisma's model API spends 2–4 ms of CPU per query compiling it
 * (docs/ARCHITECTURE.md, Chat), and those reads and the claim are the first token's wait.
 */
export class ChatRepository {
  constructor(private readonly db: PrismaClient) {}

  /**
   * Claims a queued turn (queued → running) and returns it with its session's servers and model
   * and the caller's current role, in one statement; null when the turn was not queued (or is
   * not in the session and organization the job names: what was read beside the claim is theirs).
   */
  async claimTurn(job: { turnId: string; sessionId: string; organizationId: string }): Promise<TurnContext | null> {
    const rows = await this.db.$queryRaw<TurnContext[]>`
      UPDATE "ChatTurn" t SET status = 'running', "startedAt" = now()
        FROM "ChatSession" s
       WHERE t.id = ${job.turnId}::uuid AND t.status = 'queued' AND s.id = t."sessionId"
         AND t."sessionId" = ${job.sessionId}::uuid AND t."organizationId" = ${job.organizationId}::uuid
      RETURNING ${TURN_CONTEXT}`;
    return rows[0] ?? null;
  }

  /** The turn as {@link claimTurn} returns it, whatever its status; null when it does not exist. */
  async findTurn(turnId: string): Promise<TurnContext | null> {
    const rows = await this.db.$queryRaw<TurnContext[]>`
      SELECT ${TURN_CONTEXT} FROM "ChatTurn" t JOIN "ChatSession" s ON s.id = t."sessionId" WHERE t.id = ${turnId}::uuid`;
    return rows[0] ?? null;
  }

  /** Moves a turn from one of `from`; false when it was in none of them. */
  async transition(turnId: string, from: ChatTurn["status"][], data: Prisma.ChatTurnUpdateManyMutationInput) {
    const { count } = await this.db.chatTurn.updateMany({ where: { id: turnId, status: { in: from } }, data });
    return count === 1;
  }

  /**
   * Ends a running turn (running → `status`) and frees its session, in one statement: the
   * session is free before the turn's `done` is published, so a client may send the next
   * message as soon as it sees it.
   */
  async finishTurn(
    turn: { id: string; sessionId: string },
    status: "completed" | "cancelled" | "failed",
    error?: string,
  ): Promise<void> {
    await this.db.$executeRaw`
      WITH ended AS (
        UPDATE "ChatTurn" SET status = ${status}::"ChatTurnStatus", "finishedAt" = now(), error = COALESCE(${error ?? null}, error)
         WHERE id = ${turn.id}::uuid AND status = 'running'
        RETURNING id
      )
      UPDATE "ChatSession" SET "activeTurnId" = NULL, "updatedAt" = now()
       WHERE id = ${turn.sessionId}::uuid AND "activeTurnId" = ${turn.id}::uuid`;
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
    const rows = await this.db.$queryRaw<HistoryMessage[]>`
      SELECT m.id, m.role::text AS role, m.content,
             COALESCE((SELECT json_agg(json_build_object('callId', c."callId", 'toolName', c."toolName",
                         'arguments', c.arguments, 'status', c.status, 'result', c.result, 'error', c.error)
                         ORDER BY c."createdAt")
                         FROM "ChatToolCall" c WHERE c."messageId" = m.id), '[]'::json) AS "toolCalls"
        FROM "ChatMessage" m
       WHERE m."sessionId" = ${sessionId}::uuid AND m.role IN ('user', 'assistant') AND m."turnId" <> ${beforeTurnId}::uuid
       ORDER BY m.position DESC
       LIMIT ${limit}`;
    return rows.reverse();
  }

  /** The turn's user message (id and content). */
  async userMessage(turnId: string): Promise<Pick<ChatMessage, "id" | "content"> | null> {
    const rows = await this.db.$queryRaw<Array<Pick<ChatMessage, "id" | "content">>>`
      SELECT id, content FROM "ChatMessage" WHERE "turnId" = ${turnId}::uuid AND role = 'user' ORDER BY position LIMIT 1`;
    return rows[0] ?? null;
  }

  createMessage(data: Prisma.ChatMessageUncheckedCreateInput): Promise<ChatMessage> {
    return this.db.chatMessage.create({ data });
  }

  /**
   * The session's live servers with the stored definitions of the tools agents may use
   * (enabled, reviewed, present), by session id: read beside the claim, not after it.
   */
  sessionServers(organizationId: string, sessionId: string): Promise<SessionServer[]> {
    return this.db.$queryRaw<SessionServer[]>`
      SELECT s.id, s.name, s."baseUrl", s.transport::text AS transport, s.tags, s.environment::text AS environment,
             COALESCE((SELECT json_agg(json_build_object('id', c.id, 'name', c.name, 'inputSchema', c."inputSchema",
                         'definition', c.definition))
                         FROM "McpCapability" c
                        WHERE c."serverId" = s.id AND c.kind = 'tool' AND c.enabled AND NOT c."reviewRequired"
                          AND c."removedAt" IS NULL), '[]'::json) AS capabilities
        FROM "McpServer" s
       WHERE s."organizationId" = ${organizationId}::uuid AND s."deletedAt" IS NULL
         AND s.id = ANY ((SELECT "serverIds" FROM "ChatSession" WHERE id = ${sessionId}::uuid AND "organizationId" = ${organizationId}::uuid)::uuid[])`;
  }

  /** The caller's current role in the organization (access policies name roles); null once removed. */
  async memberRole(organizationId: string, userId: string): Promise<string | null> {
    const rows = await this.db.$queryRaw<Array<{ role: string }>>`
      SELECT role::text AS role FROM "Membership" WHERE "organizationId" = ${organizationId}::uuid AND "userId" = ${userId}::uuid`;
    return rows[0]?.role ?? null;
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

import { randomUUID } from "node:crypto";
import { type ChatTurn as ChatTurnRow, type Db, Prisma } from "@sprintconnect/core";
import type { ChatMessageRow } from "../messages/message.repository";

/** What starting a turn needs: who, where, the model and the user's message. */
export interface TurnStart {
  organizationId: string;
  sessionId: string;
  userId: string | null;
  apiKeyId: string | null;
  model: string | null;
  content: string;
  /** The organization's cap on queued and running turns. */
  maxActive: number;
}

/** The outcome of {@link TurnRepository.start}: the rows, or why there are none. */
export type TurnStarted =
  | { outcome: "started"; turn: ChatTurnRow; message: ChatMessageRow }
  | { outcome: "at_cap"; active: number }
  | { outcome: "busy" };

/** The only code that writes chat turns in the chat subgraph; every query is scoped by organization. */
export class TurnRepository {
  constructor(private readonly db: Db) {}

  find(organizationId: string, id: string, db: Db = this.db): Promise<ChatTurnRow | null> {
    return db.chatTurn.findFirst({ where: { organizationId, id } });
  }

  /** Serialises turn starts per organization for the rest of the transaction. */
  async lockOrganization(tx: Db, organizationId: string): Promise<void> {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`chat-turns:${organizationId}`}, 0))`;
  }

  /**
   * In one statement (call it under {@link lockOrganization}): counts the organization's queued
   * and running turns and, below the cap and when the session has no active turn, creates the
   * turn, makes it the session's active turn and stores the user message. One round trip and
   * no query compilation, where Prisma's model calls took four of each (the first token waits
   * for this transaction; docs/ARCHITECTURE.md, Chat).
   */
  async start(tx: Db, input: TurnStart): Promise<TurnStarted> {
    const turnId = randomUUID();
    const messageId = randomUUID();
    const now = new Date();
    const [row] = await tx.$queryRaw<Array<{ active: number; position: number | null }>>`
      WITH active AS (
        SELECT count(*)::int AS n FROM "ChatTurn"
         WHERE "organizationId" = ${input.organizationId}::uuid AND status IN ('queued', 'running')
      ), claimed AS (
        UPDATE "ChatSession" SET "activeTurnId" = ${turnId}::uuid, "updatedAt" = ${now}
         WHERE id = ${input.sessionId}::uuid AND "organizationId" = ${input.organizationId}::uuid
           AND "activeTurnId" IS NULL AND (SELECT n FROM active) < ${input.maxActive}
        RETURNING id
      ), turn AS (
        INSERT INTO "ChatTurn" (id, "organizationId", "sessionId", "userId", "apiKeyId", status, model, "createdAt")
        SELECT ${turnId}::uuid, ${input.organizationId}::uuid, id, ${input.userId}::uuid, ${input.apiKeyId}::uuid,
               'queued'::"ChatTurnStatus", ${input.model}::text, ${now} FROM claimed
        RETURNING id
      ), message AS (
        INSERT INTO "ChatMessage" (id, "organizationId", "sessionId", "turnId", role, content, status, "createdAt")
        SELECT ${messageId}::uuid, ${input.organizationId}::uuid, ${input.sessionId}::uuid, id,
               'user'::"ChatMessageRole", ${input.content}, 'complete'::"ChatMessageStatus", ${now} FROM turn
        RETURNING position
      )
      SELECT (SELECT n FROM active) AS active, (SELECT position FROM message) AS position`;
    const active = row?.active ?? 0;
    if (active >= input.maxActive) return { outcome: "at_cap", active };
    if (row?.position === null || row?.position === undefined) return { outcome: "busy" };
    const turn: ChatTurnRow = {
      id: turnId,
      organizationId: input.organizationId,
      sessionId: input.sessionId,
      userId: input.userId,
      apiKeyId: input.apiKeyId,
      status: "queued",
      model: input.model,
      error: null,
      cancelRequestedAt: null,
      startedAt: null,
      finishedAt: null,
      createdAt: now,
    };
    const message: ChatMessageRow = {
      id: messageId,
      position: row.position,
      organizationId: input.organizationId,
      sessionId: input.sessionId,
      turnId,
      role: "user",
      content: input.content,
      status: "complete",
      toolCallId: null,
      model: null,
      inputTokens: 0,
      outputTokens: 0,
      cachedTokens: 0,
      costUsd: new Prisma.Decimal(0),
      createdAt: now,
      toolCalls: [],
    };
    return { outcome: "started", turn, message };
  }

  /** Clears the session's active turn if it is still `turnId`. */
  async releaseSession(db: Db, sessionId: string, turnId: string): Promise<void> {
    await db.chatSession.updateMany({ where: { id: sessionId, activeTurnId: turnId }, data: { activeTurnId: null } });
  }

  /** Moves a turn from one of `from` to `data.status`; false when it was in none of them. */
  async transition(
    db: Db,
    id: string,
    from: ChatTurnRow["status"][],
    data: Prisma.ChatTurnUpdateManyMutationInput,
  ): Promise<boolean> {
    const { count } = await db.chatTurn.updateMany({ where: { id, status: { in: from } }, data });
    return count === 1;
  }

  /** Moves a tool call awaiting approval to `status`; false when it was not awaiting one. */
  async decideToolCall(db: Db, id: string, status: "running" | "denied"): Promise<boolean> {
    const { count } = await db.chatToolCall.updateMany({
      where: { id, status: "awaiting_approval" },
      data: { status },
    });
    return count === 1;
  }
}

import type { ChatTurn as ChatTurnRow, Db, Prisma } from "@sprintconnect/core";

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

  /** Turns of the organization queued or running. */
  countActive(tx: Db, organizationId: string): Promise<number> {
    return tx.chatTurn.count({ where: { organizationId, status: { in: ["queued", "running"] } } });
  }

  create(tx: Db, data: Prisma.ChatTurnUncheckedCreateInput): Promise<ChatTurnRow> {
    return tx.chatTurn.create({ data });
  }

  /** Makes `turnId` the session's active turn; false when another one is active. */
  async claimSession(tx: Db, organizationId: string, sessionId: string, turnId: string): Promise<boolean> {
    const { count } = await tx.chatSession.updateMany({
      where: { id: sessionId, organizationId, activeTurnId: null },
      data: { activeTurnId: turnId },
    });
    return count === 1;
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

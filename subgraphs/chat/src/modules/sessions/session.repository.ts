import { afterCursor, type ChatSession as ChatSessionRow, type Db, type Prisma } from "@sprintconnect/core";

/** The only code that reads or writes ChatSession rows; every query is scoped by organization. */
export class SessionRepository {
  constructor(private readonly db: Db) {}

  /**
   * A session of the organization created by the user, or null. Raw SQL: every chat operation
   * starts here, and Prisma's model call spends 2–4 ms of CPU compiling it (docs/ARCHITECTURE.md, Chat).
   */
  async findOwn(organizationId: string, userId: string, id: string, db: Db = this.db): Promise<ChatSessionRow | null> {
    const rows = await db.$queryRaw<ChatSessionRow[]>`
      SELECT * FROM "ChatSession"
       WHERE id = ${id}::uuid AND "organizationId" = ${organizationId}::uuid AND "userId" = ${userId}::uuid`;
    return rows[0] ?? null;
  }

  /** `limit + 1` of the user's sessions after `cursor`, newest first. */
  listOwn(organizationId: string, userId: string, limit: number, cursor?: string | null): Promise<ChatSessionRow[]> {
    return this.db.chatSession.findMany({
      where: { organizationId, userId, AND: [afterCursor(cursor)] },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit + 1,
    });
  }

  create(db: Db, data: Prisma.ChatSessionUncheckedCreateInput): Promise<ChatSessionRow> {
    return db.chatSession.create({ data });
  }

  /** Deletes the row; false when it was already gone. */
  async delete(db: Db, organizationId: string, id: string): Promise<boolean> {
    const { count } = await db.chatSession.deleteMany({ where: { id, organizationId } });
    return count > 0;
  }
}

import { afterCursor, type Db, type Policy as PolicyRow, type Prisma } from "@sprintconnect/core";

export type PolicyData = Omit<
  Prisma.PolicyUncheckedCreateInput,
  "id" | "organizationId" | "createdAt" | "updatedAt" | "createdByUserId"
>;

/** The only code that writes Policy rows (the evaluator in core reads them); every query is scoped by organization. */
export class PolicyRepository {
  constructor(private readonly db: Db) {}

  findById(organizationId: string, id: string, db: Db = this.db): Promise<PolicyRow | null> {
    return db.policy.findFirst({ where: { id, organizationId } });
  }

  /** Policies by id, oldest first. */
  findByIds(organizationId: string, ids: readonly string[]): Promise<PolicyRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.policy.findMany({
      where: { organizationId, id: { in: [...ids] } },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
  }

  findByName(db: Db, organizationId: string, name: string): Promise<PolicyRow | null> {
    return db.policy.findFirst({ where: { organizationId, name } });
  }

  /** `limit + 1` policies after `cursor`, newest first. */
  list(organizationId: string, limit: number, cursor?: string | null): Promise<PolicyRow[]> {
    return this.db.policy.findMany({
      where: { organizationId, AND: [afterCursor(cursor)] },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit + 1,
    });
  }

  count(db: Db, organizationId: string): Promise<number> {
    return db.policy.count({ where: { organizationId } });
  }

  create(db: Db, organizationId: string, createdByUserId: string, data: PolicyData): Promise<PolicyRow> {
    return db.policy.create({ data: { ...data, organizationId, createdByUserId } });
  }

  update(db: Db, organizationId: string, id: string, data: Partial<PolicyData>): Promise<PolicyRow> {
    return db.policy.update({ where: { id, organizationId }, data });
  }

  async delete(db: Db, organizationId: string, id: string): Promise<void> {
    await db.policy.deleteMany({ where: { id, organizationId } });
  }

  /** Which of `userIds` are members of the organization. */
  async memberIds(db: Db, organizationId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = await db.membership.findMany({
      where: { organizationId, userId: { in: [...userIds] } },
      select: { userId: true },
    });
    return new Set(rows.map((r) => r.userId));
  }

  /** Which of `ids` are API keys of the organization. */
  async apiKeyIds(db: Db, organizationId: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await db.apiKey.findMany({ where: { organizationId, id: { in: [...ids] } }, select: { id: true } });
    return new Set(rows.map((r) => r.id));
  }

  /** Serializes policy changes of one organization (the name check and the count) for the transaction. */
  async lock(db: Db, organizationId: string): Promise<void> {
    await db.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`policies:${organizationId}`}, 0))`;
  }
}

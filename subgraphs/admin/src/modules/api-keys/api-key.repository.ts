import { type ApiKey as ApiKeyRow, afterCursor, type Db } from "@sprintconnect/core";

/** The only code that reads or writes ApiKey rows; every query is scoped by organization. */
export class ApiKeyRepository {
  constructor(private readonly db: Db) {}

  findById(organizationId: string, id: string, db: Db = this.db): Promise<ApiKeyRow | null> {
    return db.apiKey.findFirst({ where: { id, organizationId } });
  }

  /** `limit + 1` keys after `cursor`, newest first; only `userId`'s keys when it is given. */
  list(organizationId: string, userId: string | null, limit: number, cursor?: string | null): Promise<ApiKeyRow[]> {
    return this.db.apiKey.findMany({
      where: { organizationId, ...(userId ? { userId } : {}), AND: [afterCursor(cursor)] },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit + 1,
    });
  }

  create(
    db: Db,
    data: {
      organizationId: string;
      userId: string;
      name: string;
      prefix: string;
      hash: string;
      scopes: string[];
      expiresAt: Date | null;
    },
  ): Promise<ApiKeyRow> {
    return db.apiKey.create({ data });
  }

  revoke(db: Db, organizationId: string, id: string): Promise<ApiKeyRow> {
    return db.apiKey.update({ where: { id, organizationId }, data: { revokedAt: new Date() } });
  }

  /** Revokes every live key of a user in the organization; returns how many. */
  async revokeAllOfUser(db: Db, organizationId: string, userId: string): Promise<number> {
    const { count } = await db.apiKey.updateMany({
      where: { organizationId, userId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return count;
  }
}

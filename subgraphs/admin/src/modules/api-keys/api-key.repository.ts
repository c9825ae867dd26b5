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
      parentKeyId: string | null;
    },
  ): Promise<ApiKeyRow> {
    return db.apiKey.create({ data });
  }

  /**
   * The key, share-locked for the rest of the transaction so that it cannot be revoked until a
   * key created by it is committed (the revocation then finds that key and revokes it too).
   */
  async lockForChild(
    db: Db,
    organizationId: string,
    id: string,
  ): Promise<{ id: string; expiresAt: Date | null; revokedAt: Date | null } | null> {
    const [row] = await db.$queryRaw<Array<{ id: string; expiresAt: Date | null; revokedAt: Date | null }>>`
      SELECT id, "expiresAt", "revokedAt" FROM "ApiKey"
       WHERE id = ${id}::uuid AND "organizationId" = ${organizationId}::uuid
         FOR SHARE`;
    return row ?? null;
  }

  /**
   * Revokes every live key created, directly or through other keys, by key `id`; returns them.
   */
  revokeDescendants(
    db: Db,
    organizationId: string,
    id: string,
  ): Promise<Array<{ id: string; name: string; prefix: string; userId: string }>> {
    return db.$queryRaw`
      WITH RECURSIVE descendants AS (
        SELECT k.id FROM "ApiKey" k WHERE k."parentKeyId" = ${id}::uuid AND k."organizationId" = ${organizationId}::uuid
        UNION
        SELECT k.id FROM "ApiKey" k JOIN descendants d ON k."parentKeyId" = d.id
      )
      UPDATE "ApiKey" SET "revokedAt" = now()
       WHERE id IN (SELECT id FROM descendants) AND "revokedAt" IS NULL AND "organizationId" = ${organizationId}::uuid
      RETURNING id, name, prefix, "userId"`;
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

import {
  afterCursor,
  type Db,
  type McpCredential,
  type McpServer as McpServerRecord,
  type Prisma,
} from "@sprintconnect/core";

/** A server row with its credential metadata (never the secret). */
export type McpServerRow = McpServerRecord & { credentials: McpCredential[] };
const withCredentials = { credentials: true } as const;

export interface ServerListFilter {
  environment?: string | null;
  tag?: string | null;
  q?: string | null;
}

/** The only code that reads or writes McpServer rows; every query is scoped by organization. */
export class ServerRepository {
  constructor(private readonly db: Db) {}

  /** A live (not deregistered) server of the organization, or null. */
  findById(organizationId: string, id: string, db: Db = this.db): Promise<McpServerRow | null> {
    return db.mcpServer.findFirst({ where: { id, organizationId, deletedAt: null }, include: withCredentials });
  }

  findByIds(organizationId: string, ids: readonly string[]): Promise<McpServerRow[]> {
    return this.db.mcpServer.findMany({
      where: { id: { in: [...ids] }, organizationId, deletedAt: null },
      include: withCredentials,
    });
  }

  findByName(organizationId: string, name: string, db: Db = this.db): Promise<McpServerRecord | null> {
    return db.mcpServer.findFirst({
      where: { organizationId, deletedAt: null, name: { equals: name, mode: "insensitive" } },
    });
  }

  /** `limit + 1` rows after `cursor`, newest first. */
  list(
    organizationId: string,
    filter: ServerListFilter,
    limit: number,
    cursor?: string | null,
  ): Promise<McpServerRow[]> {
    const where: Prisma.McpServerWhereInput = {
      organizationId,
      deletedAt: null,
      ...(filter.environment ? { environment: filter.environment as McpServerRow["environment"] } : {}),
      ...(filter.tag ? { tags: { has: filter.tag.toLowerCase() } } : {}),
      ...(filter.q
        ? {
            OR: [
              { name: { contains: filter.q, mode: "insensitive" } },
              { description: { contains: filter.q, mode: "insensitive" } },
            ],
          }
        : {}),
      AND: [afterCursor(cursor)],
    };
    return this.db.mcpServer.findMany({
      where,
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit + 1,
      include: withCredentials,
    });
  }

  create(db: Db, data: Prisma.McpServerUncheckedCreateInput): Promise<McpServerRow> {
    return db.mcpServer.create({ data, include: withCredentials });
  }

  update(db: Db, id: string, data: Prisma.McpServerUncheckedUpdateInput): Promise<McpServerRow> {
    return db.mcpServer.update({ where: { id }, data, include: withCredentials });
  }

  /** Replaces the server's credential metadata (the secret itself is in the secret store). */
  async setCredential(
    db: Db,
    server: { id: string; organizationId: string },
    credential: { kind: "bearer" | "headers"; secretRef: string; origin: string; headerNames: string[] } | null,
  ): Promise<void> {
    await db.mcpCredential.deleteMany({ where: { serverId: server.id } });
    if (credential) {
      await db.mcpCredential.create({
        data: { organizationId: server.organizationId, serverId: server.id, ...credential, rotatedAt: new Date() },
      });
    }
  }

  /** Recent raw health check results, newest first. */
  recentHealthChecks(serverId: string, take: number) {
    return this.db.healthCheck.findMany({ where: { serverId }, orderBy: { checkedAt: "desc" }, take });
  }

  /** Live (not deregistered) servers of the organization. */
  countLive(db: Db, organizationId: string): Promise<number> {
    return db.mcpServer.count({ where: { organizationId, deletedAt: null } });
  }

  /** Serializes writers of one organization's server names for the rest of the transaction. */
  async lockNames(db: Db, organizationId: string): Promise<void> {
    await db.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`server-names:${organizationId}`}, 0))`;
  }
}

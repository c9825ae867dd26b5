import { afterCursor, type Db, type McpServer as McpServerRow, type Prisma } from "@sprintconnect/core";

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
    return db.mcpServer.findFirst({ where: { id, organizationId, deletedAt: null } });
  }

  findByIds(organizationId: string, ids: readonly string[]): Promise<McpServerRow[]> {
    return this.db.mcpServer.findMany({ where: { id: { in: [...ids] }, organizationId, deletedAt: null } });
  }

  findByName(organizationId: string, name: string, db: Db = this.db): Promise<McpServerRow | null> {
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
    return this.db.mcpServer.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: limit + 1 });
  }

  create(db: Db, data: Prisma.McpServerUncheckedCreateInput): Promise<McpServerRow> {
    return db.mcpServer.create({ data });
  }

  update(db: Db, id: string, data: Prisma.McpServerUncheckedUpdateInput): Promise<McpServerRow> {
    return db.mcpServer.update({ where: { id }, data });
  }

  /** Serializes writers of one organization's server names for the rest of the transaction. */
  async lockNames(db: Db, organizationId: string): Promise<void> {
    await db.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`server-names:${organizationId}`}, 0))`;
  }
}

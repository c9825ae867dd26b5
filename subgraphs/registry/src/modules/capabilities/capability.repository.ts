import { afterCursor, type Db, type McpCapability as McpCapabilityRow, type Prisma } from "@sprintconnect/core";

/** The only code that reads or writes McpCapability rows; scoped by organization. */
export class CapabilityRepository {
  constructor(private readonly db: Db) {}

  /** A current capability of a live server. */
  findById(organizationId: string, id: string, db: Db = this.db): Promise<McpCapabilityRow | null> {
    return db.mcpCapability.findFirst({
      where: { id, organizationId, removedAt: null, server: { deletedAt: null } },
    });
  }

  listForServer(
    organizationId: string,
    serverId: string,
    kind: string | null | undefined,
    limit: number,
    cursor?: string | null,
  ): Promise<McpCapabilityRow[]> {
    return this.db.mcpCapability.findMany({
      where: {
        organizationId,
        serverId,
        removedAt: null,
        ...(kind ? { kind: kind as McpCapabilityRow["kind"] } : {}),
        AND: [afterCursor(cursor)],
      },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit + 1,
    });
  }

  update(db: Db, id: string, data: Prisma.McpCapabilityUncheckedUpdateInput): Promise<McpCapabilityRow> {
    return db.mcpCapability.update({ where: { id }, data });
  }
}

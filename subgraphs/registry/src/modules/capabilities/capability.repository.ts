import { type Db, type McpCapability as McpCapabilityRow, type Prisma } from "@sprintconnect/core";

/**
 * Writes of McpCapability rows, and the reads mutations make inside their transactions, with
 * Prisma; scoped by organization. What the API reads goes through `CapabilityQueries`.
 */
export class CapabilityRepository {
  /** A current capability of a live server. */
  findById(organizationId: string, id: string, db: Db): Promise<McpCapabilityRow | null> {
    return db.mcpCapability.findFirst({
      where: { id, organizationId, removedAt: null, server: { deletedAt: null } },
    });
  }

  update(db: Db, id: string, data: Prisma.McpCapabilityUncheckedUpdateInput): Promise<McpCapabilityRow> {
    return db.mcpCapability.update({ where: { id }, data });
  }
}

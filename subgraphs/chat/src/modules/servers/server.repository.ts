import type { Db } from "@sprintconnect/core";

/** Reads which MCP servers exist; the registry owns them, this subgraph only checks ids. */
export class ServerRepository {
  constructor(private readonly db: Db) {}

  /** Those of `ids` that are live (not deregistered) servers of the organization. */
  async findLiveIds(organizationId: string, ids: readonly string[], db: Db = this.db): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await db.mcpServer.findMany({
      where: { id: { in: [...ids] }, organizationId, deletedAt: null },
      select: { id: true },
    });
    return new Set(rows.map((r) => r.id));
  }
}

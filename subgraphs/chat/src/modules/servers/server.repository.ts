import { compilePolicies, type Db, loadPolicySet, type Principal } from "@sprintconnect/core";

/**
 * Reads which MCP servers exist and which the caller may read; the registry owns them, this
 * subgraph only checks ids.
 */
export class ServerRepository {
  constructor(private readonly db: Db) {}

  /**
   * Those of `ids` that are live (not deregistered) servers of the caller's organization and
   * that the caller's access policies let them `read` (packages/core/src/policy, the same
   * evaluator as the registry's): a server they may not read is as absent here as there.
   */
  async findVisibleIds(principal: Principal, ids: readonly string[], db: Db = this.db): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { organizationId } = principal;
    const [rows, policies] = await Promise.all([
      db.mcpServer.findMany({
        where: { id: { in: [...ids] }, organizationId, deletedAt: null },
        select: { id: true, tags: true, environment: true },
      }),
      loadPolicySet(db, organizationId),
    ]);
    const read = compilePolicies(
      policies,
      { role: principal.role, userId: principal.userId, apiKeyId: principal.apiKeyId },
      "read",
    );
    return new Set(
      rows
        .filter(
          (r) => !read.restricts || read.server({ id: r.id, tags: r.tags ?? [], environment: r.environment }).allowed,
        )
        .map((r) => r.id),
    );
  }
}

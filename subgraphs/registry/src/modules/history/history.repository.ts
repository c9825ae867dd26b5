import { afterCursor, type Db } from "@sprintconnect/core";

/** Reads discovery history; scoped by organization like every repository. */
export class HistoryRepository {
  constructor(private readonly db: Db) {}

  /** `limit + 1` changes of a server, newest first. */
  changes(organizationId: string, serverId: string, limit: number, cursor?: string | null) {
    return this.db.mcpCapabilityChange.findMany({
      where: { organizationId, serverId, AND: [afterCursor(cursor)] },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit + 1,
    });
  }

  run(organizationId: string, id: string) {
    return this.db.discoveryRun.findFirst({ where: { id, organizationId } });
  }
}

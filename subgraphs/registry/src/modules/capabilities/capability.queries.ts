import { decodeCursor, type ReadDb, type ReadTables } from "@sprintconnect/core";
import type { Selectable } from "kysely";
import type { CapabilityRecord } from "./capability.service";

/**
 * The registry's read model of capabilities (docs/ARCHITECTURE.md, Data): what the query
 * resolvers and entity references return, with Kysely on the shared pool, scoped by
 * organization; only current capabilities (not removed) of live servers.
 */
export class CapabilityQueries {
  constructor(private readonly db: ReadDb) {}

  /** Current capabilities of live servers by id (the caller checked the ids are UUIDs). */
  async findByIds(organizationId: string, ids: readonly string[]): Promise<CapabilityRecord[]> {
    if (ids.length === 0) return [];
    return this.db
      .selectFrom("McpCapability as c")
      .innerJoin("McpServer as s", "s.id", "c.serverId")
      .selectAll("c")
      .where("c.id", "in", [...ids])
      .where("c.organizationId", "=", organizationId)
      .where("c.removedAt", "is", null)
      .where("s.deletedAt", "is", null)
      .execute();
  }

  /** `limit + 1` current capabilities of a server after `cursor`, newest first. */
  listForServer(
    organizationId: string,
    serverId: string,
    kind: string | null | undefined,
    limit: number,
    cursor?: string | null,
  ): Promise<CapabilityRecord[]> {
    const after = cursor ? decodeCursor(cursor) : null;
    return this.db
      .selectFrom("McpCapability")
      .selectAll()
      .where("organizationId", "=", organizationId)
      .where("serverId", "=", serverId)
      .where("removedAt", "is", null)
      .$if(!!kind, (q) => q.where("kind", "=", kind as Selectable<ReadTables["McpCapability"]>["kind"]))
      .$if(after !== null, (q) =>
        q.where((eb) =>
          eb(eb.refTuple("createdAt", "id"), "<", eb.tuple(after?.createdAt as Date, after?.id as string)),
        ),
      )
      .orderBy("createdAt", "desc")
      .orderBy("id", "desc")
      .limit(limit + 1)
      .execute();
  }
}

import { decodeCursor, type ReadDb, type ReadTables } from "@sprintconnect/core";
import type { Selectable } from "kysely";

/** Reads discovery history with Kysely on the shared pool (a read model); scoped by organization. */
export class HistoryQueries {
  constructor(private readonly db: ReadDb) {}

  /** `limit + 1` changes of a server, newest first. */
  changes(
    organizationId: string,
    serverId: string,
    limit: number,
    cursor?: string | null,
  ): Promise<Selectable<ReadTables["McpCapabilityChange"]>[]> {
    const after = cursor ? decodeCursor(cursor) : null;
    return this.db
      .selectFrom("McpCapabilityChange")
      .selectAll()
      .where("organizationId", "=", organizationId)
      .where("serverId", "=", serverId)
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

  /** A discovery run of the organization (the caller checked the id is a UUID). */
  run(organizationId: string, id: string): Promise<Selectable<ReadTables["DiscoveryRun"]> | undefined> {
    return this.db
      .selectFrom("DiscoveryRun")
      .selectAll()
      .where("id", "=", id)
      .where("organizationId", "=", organizationId)
      .executeTakeFirst();
  }
}

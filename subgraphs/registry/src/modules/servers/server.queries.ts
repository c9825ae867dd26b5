import { type CompiledPolicies, decodeCursor, Prisma, type ReadDb, type ReadTables } from "@sprintconnect/core";
import { type ExpressionBuilder, type Selectable, sql } from "kysely";
import type { ServerRecord } from "./server.service";

type Server = ReadTables["McpServer"];
type ServerColumn = keyof Server & string;

/** The columns each field of the GraphQL `McpServer` type is made from (`credentials` is a relation). */
const COLUMNS: Record<string, readonly ServerColumn[]> = {
  id: ["id"],
  name: ["name"],
  description: ["description"],
  baseUrl: ["baseUrl"],
  transport: ["transport"],
  environment: ["environment"],
  tags: ["tags"],
  metadata: ["metadata"],
  status: ["status"],
  health: ["healthStatus", "lastHealthCheckAt", "healthLatencyMs"],
  discovery: [
    "discoveryStatus",
    "lastDiscoveredAt",
    "discoveryError",
    "protocolVersion",
    "serverInfo",
    "serverCapabilities",
    "instructions",
  ],
  createdAt: ["createdAt"],
  updatedAt: ["updatedAt"],
};

/** Every field of `McpServer`: for callers that do not know the selection (entity references, search). */
export const ALL_SERVER_FIELDS: ReadonlySet<string> = new Set([...Object.keys(COLUMNS), "credentials"]);

export interface ServerListFilter {
  environment?: string | null;
  tag?: string | null;
  q?: string | null;
}

/** `id` and `createdAt` always: the page's cursor is made of them. */
function columnsFor(fields: ReadonlySet<string>): ServerColumn[] {
  const columns = new Set<ServerColumn>(["id", "createdAt"]);
  for (const field of fields) for (const column of COLUMNS[field] ?? []) columns.add(column);
  return [...columns];
}

const live = (organizationId: string) => (eb: ExpressionBuilder<ReadTables, "McpServer">) =>
  eb.and([eb("organizationId", "=", organizationId), eb("deletedAt", "is", null)]);

/**
 * The servers the caller's policies let it read (action `read`), as a Kysely condition: the
 * evaluator's SQL over this table's columns. TRUE when no policy restricts.
 */
export function readable(policies: CompiledPolicies | undefined) {
  const condition = policies?.restricts
    ? policies.serverSql({
        serverId: Prisma.sql`"McpServer".id`,
        tags: Prisma.sql`"McpServer".tags`,
        environment: Prisma.sql`"McpServer".environment`,
      })
    : Prisma.sql`TRUE`;
  return sql<boolean>(condition.strings as unknown as TemplateStringsArray, ...condition.values);
}

const HEALTH_COLUMNS = [
  "id",
  "healthStatus",
  "lastHealthCheckAt",
  "healthLatencyMs",
  "healthReason",
  "healthCandidate",
  "healthCandidateRun",
] as const;
type HealthColumn = (typeof HEALTH_COLUMNS)[number];

/** `%text%` for ILIKE, with the caller's wildcards taken literally. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The registry's read model of servers (docs/ARCHITECTURE.md, Data): what the query resolvers
 * and entity references return, read with Kysely on the shared pool, scoped by organization,
 * live servers only. Only the columns of the fields the operation selects are read, and the
 * credentials only when `credentials` is selected (one query for the whole page). A record's
 * fields that were not selected are absent: GraphQL never resolves them.
 */
export class ServerQueries {
  constructor(private readonly db: ReadDb) {}

  /** `limit + 1` servers after `cursor`, newest first. */
  async list(
    organizationId: string,
    filter: ServerListFilter,
    limit: number,
    cursor: string | null | undefined,
    fields: ReadonlySet<string>,
    policies?: CompiledPolicies,
  ): Promise<ServerRecord[]> {
    const after = cursor ? decodeCursor(cursor) : null;
    const rows = await this.db
      .selectFrom("McpServer")
      .select(columnsFor(fields))
      .where(live(organizationId))
      .where(readable(policies))
      .$if(!!filter.environment, (q) =>
        q.where("environment", "=", filter.environment as Selectable<Server>["environment"]),
      )
      .$if(!!filter.tag, (q) => q.where("tags", "@>", sql<string[]>`ARRAY[${filter.tag?.toLowerCase()}]::text[]`))
      .$if(!!filter.q, (q) =>
        q.where((eb) =>
          eb.or([
            eb("name", "ilike", containing(filter.q as string)),
            eb("description", "ilike", containing(filter.q as string)),
          ]),
        ),
      )
      .$if(after !== null, (q) =>
        q.where((eb) =>
          eb(eb.refTuple("createdAt", "id"), "<", eb.tuple(after?.createdAt as Date, after?.id as string)),
        ),
      )
      .orderBy("createdAt", "desc")
      .orderBy("id", "desc")
      .limit(limit + 1)
      .execute();
    return this.withCredentials(rows, fields);
  }

  /** Live servers of the organization by id; the caller checked the ids are UUIDs. */
  async findByIds(
    organizationId: string,
    ids: readonly string[],
    fields: ReadonlySet<string>,
    policies?: CompiledPolicies,
  ): Promise<ServerRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom("McpServer")
      .select(columnsFor(fields))
      .where(live(organizationId))
      .where(readable(policies))
      .where("id", "in", [...ids])
      .execute();
    return this.withCredentials(rows, fields);
  }

  async findById(
    organizationId: string,
    id: string,
    fields: ReadonlySet<string>,
    policies?: CompiledPolicies,
  ): Promise<ServerRecord | null> {
    return (await this.findByIds(organizationId, [id], fields, policies))[0] ?? null;
  }

  /** Whether a live server of the organization that `policies` let the caller read has this id (the caller checked it is a UUID). */
  async exists(organizationId: string, id: string, policies?: CompiledPolicies): Promise<boolean> {
    const row = await this.db
      .selectFrom("McpServer")
      .select("id")
      .where(live(organizationId))
      .where(readable(policies))
      .where("id", "=", id)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The health columns of a live server (the caller checked the id is a UUID). */
  health(
    organizationId: string,
    id: string,
    policies?: CompiledPolicies,
  ): Promise<Pick<Selectable<Server>, HealthColumn> | undefined> {
    return this.db
      .selectFrom("McpServer")
      .select(HEALTH_COLUMNS)
      .where(live(organizationId))
      .where(readable(policies))
      .where("id", "=", id)
      .executeTakeFirst();
  }

  /** Recent raw health check results, newest first. */
  recentHealthChecks(
    serverId: string,
    take: number,
  ): Promise<Pick<Selectable<ReadTables["HealthCheck"]>, "result" | "latencyMs" | "error" | "checkedAt">[]> {
    return this.db
      .selectFrom("HealthCheck")
      .select(["result", "latencyMs", "error", "checkedAt"])
      .where("serverId", "=", serverId)
      .orderBy("checkedAt", "desc")
      .limit(take)
      .execute();
  }

  private async withCredentials(rows: Array<{ id: string }>, fields: ReadonlySet<string>): Promise<ServerRecord[]> {
    const records = rows as unknown as ServerRecord[];
    if (!fields.has("credentials") || rows.length === 0) return records;
    const credentials = await this.db
      .selectFrom("McpCredential")
      .select(["serverId", "kind", "headerNames", "origin", "updatedAt"])
      .where(
        "serverId",
        "in",
        rows.map((r) => r.id),
      )
      .execute();
    for (const record of records) record.credentials = credentials.filter((c) => c.serverId === record.id);
    return records;
  }
}

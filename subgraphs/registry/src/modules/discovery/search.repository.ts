import { type Db, Prisma } from "@sprintconnect/core";

export interface ServerSearch {
  capability?: string | null;
  tag?: string | null;
  environment?: string | null;
  health?: string | null;
  q?: string | null;
}

export interface CapabilitySearch {
  name?: string | null;
  kind?: string | null;
  serverId?: string | null;
  q?: string | null;
}

/** `%text%` for ILIKE, with the caller's wildcards taken literally. */
function contains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Healthy servers first, then degraded, unknown, auth_required, unhealthy. */
const HEALTH_RANK = Prisma.sql`CASE s."healthStatus" WHEN 'healthy' THEN 0 WHEN 'degraded' THEN 1 WHEN 'unknown' THEN 2 WHEN 'auth_required' THEN 3 ELSE 4 END`;

const and = (parts: Prisma.Sql[]) => Prisma.join(parts, " AND ");

/**
 * Discovery search for agents: only live, active servers and current, enabled capabilities
 * of the caller's organization that are not waiting for review. Text filters use ILIKE, which the trigram indexes serve.
 */
export class SearchRepository {
  constructor(private readonly db: Db) {}

  /** Ids of matching servers, ranked, `limit + 1` from `offset`. */
  async servers(organizationId: string, f: ServerSearch, limit: number, offset: number): Promise<string[]> {
    const rows = await this.db.$queryRaw<Array<{ id: string }>>(serversQuery(organizationId, f, limit, offset));
    return rows.map((r) => r.id);
  }

  /** (capability id, server id) of matching capabilities, ranked, `limit + 1` from `offset`. */
  capabilities(
    organizationId: string,
    f: CapabilitySearch,
    limit: number,
    offset: number,
  ): Promise<Array<{ id: string; serverId: string }>> {
    return this.db.$queryRaw<Array<{ id: string; serverId: string }>>(
      capabilitiesQuery(organizationId, f, limit, offset),
    );
  }

  capabilitiesByIds(ids: string[]) {
    return this.db.mcpCapability.findMany({ where: { id: { in: ids } } });
  }
}

/** The ranked server search statement (exported so the benchmark times exactly this SQL). */
export function serversQuery(organizationId: string, f: ServerSearch, limit: number, offset: number): Prisma.Sql {
  const where: Prisma.Sql[] = [
    Prisma.sql`s."organizationId" = ${organizationId}::uuid`,
    Prisma.sql`s."deletedAt" IS NULL`,
    Prisma.sql`s.status = 'active'`,
  ];
  if (f.environment) where.push(Prisma.sql`s.environment = ${f.environment}::"McpEnvironment"`);
  if (f.health) where.push(Prisma.sql`s."healthStatus" = ${f.health}::"HealthStatus"`);
  if (f.tag) where.push(Prisma.sql`${f.tag.toLowerCase()} = ANY(s.tags)`);
  if (f.capability) {
    where.push(Prisma.sql`s.id IN (SELECT c."serverId" FROM "McpCapability" c
        WHERE c."organizationId" = ${organizationId}::uuid AND c."removedAt" IS NULL AND c.enabled AND NOT c."reviewRequired"
          AND c.name ILIKE ${contains(f.capability)})`);
  }
  if (f.q) {
    const q = contains(f.q);
    // The capability side is one set of server ids (trigram index scans), not a subquery per server.
    where.push(Prisma.sql`(s.name ILIKE ${q} OR s.description ILIKE ${q} OR s.id IN (
        SELECT c."serverId" FROM "McpCapability" c
         WHERE c."organizationId" = ${organizationId}::uuid AND c."removedAt" IS NULL AND c.enabled AND NOT c."reviewRequired"
           AND (c.name ILIKE ${q} OR c.description ILIKE ${q})))`);
  }
  const relevance = f.q ? Prisma.sql`similarity(s.name, ${f.q}) DESC,` : Prisma.empty;
  return Prisma.sql`
      SELECT s.id FROM "McpServer" s WHERE ${and(where)}
      ORDER BY ${HEALTH_RANK}, ${relevance} s.name, s.id
      LIMIT ${limit + 1} OFFSET ${offset}`;
}

/** The ranked capability search statement. */
export function capabilitiesQuery(
  organizationId: string,
  f: CapabilitySearch,
  limit: number,
  offset: number,
): Prisma.Sql {
  const where: Prisma.Sql[] = [
    Prisma.sql`c."organizationId" = ${organizationId}::uuid`,
    Prisma.sql`c."removedAt" IS NULL`,
    Prisma.sql`c.enabled`,
    // A tool whose definition changed is hidden from agents until someone reviews it.
    Prisma.sql`NOT c."reviewRequired"`,
    Prisma.sql`s."deletedAt" IS NULL`,
    Prisma.sql`s.status = 'active'`,
  ];
  if (f.kind) where.push(Prisma.sql`c.kind = ${f.kind}::"CapabilityKind"`);
  if (f.serverId) where.push(Prisma.sql`c."serverId" = ${f.serverId}::uuid`);
  if (f.name) where.push(Prisma.sql`c.name ILIKE ${contains(f.name)}`);
  if (f.q) {
    const q = contains(f.q);
    where.push(Prisma.sql`(c.name ILIKE ${q} OR c.description ILIKE ${q})`);
  }
  const relevance = f.q ? Prisma.sql`similarity(c.name, ${f.q}) DESC,` : Prisma.empty;
  return Prisma.sql`
      SELECT c.id, c."serverId" FROM "McpCapability" c JOIN "McpServer" s ON s.id = c."serverId"
      WHERE ${and(where)}
      ORDER BY ${HEALTH_RANK}, ${relevance} c.name, c.id
      LIMIT ${limit + 1} OFFSET ${offset}`;
}

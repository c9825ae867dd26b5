import { type Db, Prisma } from "@sprintconnect/core";

export interface AvailabilityQuery {
  organizationId: string;
  from: Date;
  to: Date;
  maxGapMs: number;
  serverId?: string | null;
  environment?: string | null;
}

export interface AvailabilityRow {
  serverId: string;
  checks: number;
  healthyMs: number;
  degradedMs: number;
  unhealthyMs: number;
  authRequiredMs: number;
  incidents: number;
  openIncident: boolean;
  mttrMs: number | null;
}

/** Availability from the raw health check results, in one statement (window functions). */
export class AvailabilityRepository {
  constructor(private readonly db: Db) {}

  summarize(q: AvailabilityQuery): Promise<AvailabilityRow[]> {
    const gap = Prisma.sql`make_interval(secs => ${q.maxGapMs / 1000})`;
    const filters = [
      q.serverId ? Prisma.sql`AND c."serverId" = ${q.serverId}::uuid` : Prisma.empty,
      q.environment
        ? Prisma.sql`AND c."serverId" IN (SELECT id FROM "McpServer" WHERE "organizationId" = ${q.organizationId}::uuid AND environment::text = ${q.environment})`
        : Prisma.empty,
    ];
    return this.db.$queryRaw<AvailabilityRow[]>`
      WITH checks AS (
        SELECT c."serverId", c.result::text AS result, c."checkedAt",
               lead(c."checkedAt") OVER w AS next,
               c.result IN ('unhealthy', 'auth_required') AS down,
               lag(c.result IN ('unhealthy', 'auth_required')) OVER w AS "prevDown"
          FROM "HealthCheck" c
         WHERE c."organizationId" = ${q.organizationId}::uuid
           AND c."checkedAt" >= ${q.from}::timestamptz - ${gap} AND c."checkedAt" < ${q.to} ${Prisma.join(filters, " ")}
        WINDOW w AS (PARTITION BY c."serverId" ORDER BY c."checkedAt")
      ), spans AS (
        SELECT "serverId", result,
               greatest("checkedAt", ${q.from}) AS s,
               least(coalesce(next, ${q.to}), "checkedAt" + ${gap}, ${q.to}, now()) AS e
          FROM checks
      ), durations AS (
        SELECT "serverId",
               sum(extract(epoch FROM e - s) * 1000) FILTER (WHERE result = 'healthy') AS healthy,
               sum(extract(epoch FROM e - s) * 1000) FILTER (WHERE result = 'degraded') AS degraded,
               sum(extract(epoch FROM e - s) * 1000) FILTER (WHERE result = 'unhealthy') AS unhealthy,
               sum(extract(epoch FROM e - s) * 1000) FILTER (WHERE result = 'auth_required') AS "authRequired"
          FROM spans WHERE e > s GROUP BY 1
      ), incidents AS (
        -- An incident starts at a down result after an up one (or the first result), and ends at
        -- the first up result after it.
        SELECT i."serverId", i."checkedAt" AS started,
               (SELECT min(r."checkedAt") FROM checks r
                 WHERE r."serverId" = i."serverId" AND r."checkedAt" > i."checkedAt" AND NOT r.down) AS recovered
          FROM checks i
         WHERE i.down AND i."prevDown" IS NOT TRUE AND i."checkedAt" >= ${q.from}
      ), counted AS (
        SELECT "serverId", count(*)::int AS incidents,
               bool_or(recovered IS NULL OR recovered >= ${q.to}) AS "openIncident",
               avg(extract(epoch FROM recovered - started) * 1000) FILTER (WHERE recovered < ${q.to}) AS mttr
          FROM incidents GROUP BY 1
      )
      SELECT d."serverId",
             (SELECT count(*)::int FROM checks c WHERE c."serverId" = d."serverId" AND c."checkedAt" >= ${q.from}) AS checks,
             coalesce(d.healthy, 0)::float8 AS "healthyMs", coalesce(d.degraded, 0)::float8 AS "degradedMs",
             coalesce(d.unhealthy, 0)::float8 AS "unhealthyMs", coalesce(d."authRequired", 0)::float8 AS "authRequiredMs",
             coalesce(n.incidents, 0) AS incidents, coalesce(n."openIncident", false) AS "openIncident",
             n.mttr::float8 AS "mttrMs"
        FROM durations d LEFT JOIN counted n ON n."serverId" = d."serverId"
       ORDER BY d."serverId"`;
  }
}

import { type Db, Prisma } from "@sprintconnect/core";
import { UsageDimension, UsageInterval } from "./summary.type";

/** Rollup rows of one period whose buckets start in [from, to), both aligned to the period: they cover exactly [from, to). */
export interface RollupRange {
  period: "hour" | "day";
  from: Date;
  to: Date;
}

export interface SummaryQuery {
  organizationId: string;
  from: Date;
  to: Date;
  dimensions: UsageDimension[];
  interval: UsageInterval;
  timeZone: string;
  /** Where rollup rows are read; raw events are read for the rest of [from, to). */
  rollups: RollupRange[];
  serverId?: string | null;
  environment?: string | null;
  kind?: string | null;
  limit: number;
  offset: number;
}

export interface SummaryRow {
  bucket: Date | null;
  kind: string | null;
  serverId: string | null;
  toolName: string | null;
  userId: string | null;
  apiKeyId: string | null;
  model: string | null;
  events: number;
  errors: number;
  quantity: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: string;
  durationMsSum: number;
  durationCount: number;
}

/** The columns each dimension groups by. */
const DIMENSION_COLUMNS: Readonly<Record<UsageDimension, readonly (keyof SummaryRow)[]>> = {
  [UsageDimension.kind]: ["kind"],
  [UsageDimension.server]: ["serverId"],
  [UsageDimension.capability]: ["serverId", "toolName"],
  [UsageDimension.user]: ["userId"],
  [UsageDimension.api_key]: ["apiKeyId"],
  [UsageDimension.model]: ["model"],
};
const ALL_COLUMNS = ["kind", "serverId", "toolName", "userId", "apiKeyId", "model"] as const;

/**
 * Reads usage summaries: rollup rows where the service says they cover whole buckets, raw
 * events everywhere else in the range, summed in one statement. Scoped by organization.
 */
export class SummaryRepository {
  constructor(private readonly db: Db) {}

  async summarize(q: SummaryQuery): Promise<SummaryRow[]> {
    const grouped = new Set(q.dimensions.flatMap((d) => DIMENSION_COLUMNS[d]));
    const filters = (alias: "r" | "e") => {
      const parts: Prisma.Sql[] = [];
      if (q.serverId) parts.push(Prisma.sql`AND ${Prisma.raw(alias)}."serverId" = ${q.serverId}::uuid`);
      if (q.kind) parts.push(Prisma.sql`AND ${Prisma.raw(alias)}.kind = ${q.kind}`);
      if (q.environment) {
        parts.push(Prisma.sql`AND ${Prisma.raw(alias)}."serverId" IN (
          SELECT id FROM "McpServer" WHERE "organizationId" = ${q.organizationId}::uuid AND environment::text = ${q.environment})`);
      }
      return parts.length ? Prisma.join(parts, " ") : Prisma.empty;
    };
    const rollupParts = q.rollups.map(
      (range) => Prisma.sql`
        SELECT r."bucketStart" AS t, r.kind, r."serverId", r."toolName", r."userId", r."apiKeyId", r.model,
               r.events::bigint AS events, r.errors::bigint AS errors, r.quantity, r."inputTokens", r."outputTokens",
               r."cachedTokens", r."costUsd", r."durationMsSum", r."durationCount"::bigint AS "durationCount"
          FROM "UsageRollup" r
         WHERE r."organizationId" = ${q.organizationId}::uuid AND r.period = ${range.period}
           AND r."bucketStart" >= ${range.from} AND r."bucketStart" < ${range.to} ${filters("r")}`,
    );
    // Raw events outside every rollup range.
    const outside = q.rollups.map(
      (range) => Prisma.sql`AND NOT (e."occurredAt" >= ${range.from} AND e."occurredAt" < ${range.to})`,
    );
    const rawPart = Prisma.sql`
        SELECT e."occurredAt" AS t, e.kind, e."serverId", e."toolName", e."userId", e."apiKeyId", e.model,
               1::bigint AS events, (NOT e.success)::int::bigint AS errors, e.quantity::bigint AS quantity,
               e."inputTokens"::bigint AS "inputTokens", e."outputTokens"::bigint AS "outputTokens",
               e."cachedTokens"::bigint AS "cachedTokens", e."costUsd",
               coalesce(e."durationMs", 0)::bigint AS "durationMsSum", (e."durationMs" IS NOT NULL)::int::bigint AS "durationCount"
          FROM "UsageEvent" e
         WHERE e."organizationId" = ${q.organizationId}::uuid AND e."occurredAt" >= ${q.from} AND e."occurredAt" < ${q.to}
               ${outside.length ? Prisma.join(outside, " ") : Prisma.empty} ${filters("e")}`;
    const bucket =
      q.interval === UsageInterval.none
        ? Prisma.sql`NULL::timestamptz`
        : Prisma.sql`date_trunc(${q.interval}, t AT TIME ZONE ${q.timeZone}) AT TIME ZONE ${q.timeZone}`;
    const columns = ALL_COLUMNS.map((c) => (grouped.has(c) ? Prisma.raw(`"${c}"`) : Prisma.raw(`NULL AS "${c}"`)));
    const groupBy = ["1", ...ALL_COLUMNS.flatMap((c, i) => (grouped.has(c) ? [String(i + 2)] : []))];
    const rows = await this.db.$queryRaw<Array<Omit<SummaryRow, "costUsd"> & { costUsd: string }>>`
      WITH src AS (${Prisma.join([...rollupParts, rawPart], " UNION ALL ")})
      SELECT ${bucket} AS bucket, ${Prisma.join(columns, ", ")},
             sum(events)::float8 AS events, sum(errors)::float8 AS errors, sum(quantity)::float8 AS quantity,
             sum("inputTokens")::float8 AS "inputTokens", sum("outputTokens")::float8 AS "outputTokens",
             sum("cachedTokens")::float8 AS "cachedTokens", sum("costUsd")::text AS "costUsd",
             sum("durationMsSum")::float8 AS "durationMsSum", sum("durationCount")::float8 AS "durationCount"
        FROM src
       GROUP BY ${Prisma.raw(groupBy.join(", "))}
       ORDER BY ${Prisma.raw(groupBy.map((c) => `${c} NULLS FIRST`).join(", "))}
       LIMIT ${q.limit + 1} OFFSET ${q.offset}`;
    return rows;
  }
}

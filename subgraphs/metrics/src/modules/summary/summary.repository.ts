import { type Db, LATENCY_BUCKETS_MS, Prisma, type RollupRange, uncovered } from "@sprintconnect/core";
import { UsageDimension, UsageInterval } from "./summary.type";

/** A range of usage and its filters. */
export interface SourceQuery {
  organizationId: string;
  from: Date;
  to: Date;
  /** Where rollup rows are read; raw events are read for the rest of [from, to). */
  rollups: RollupRange[];
  serverId?: string | null;
  environment?: string | null;
  kind?: string | null;
}

export interface SummaryQuery extends SourceQuery {
  dimensions: UsageDimension[];
  interval: UsageInterval;
  timeZone: string;
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

  /**
   * The usage of `q`'s range as one row set (`t`, the dimensions, the measures): rollup rows
   * where `q.rollups` says they stand for whole buckets, raw events everywhere else. With
   * `histogram`, also `h1`…`hN`: events per latency bucket (`LATENCY_BUCKETS_MS`).
   */
  private source(q: SourceQuery, histogram: boolean): Prisma.Sql {
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
    const buckets = [...LATENCY_BUCKETS_MS, null];
    const rollupHistogram = histogram
      ? Prisma.raw(buckets.map((_, i) => `, coalesce(r."latencyHistogram"[${i + 1}], 0)::bigint AS h${i + 1}`).join(""))
      : Prisma.empty;
    const rawHistogram = histogram
      ? Prisma.raw(
          buckets
            .map((upper, i) => {
              const lower = i === 0 ? null : LATENCY_BUCKETS_MS[i - 1];
              const test = [
                'e."durationMs" IS NOT NULL',
                ...(lower === null ? [] : [`e."durationMs" > ${lower}`]),
                ...(upper === null ? [] : [`e."durationMs" <= ${upper}`]),
              ].join(" AND ");
              return `, (${test})::int::bigint AS h${i + 1}`;
            })
            .join(""),
        )
      : Prisma.empty;
    const rollupParts = q.rollups.map(
      (range) => Prisma.sql`
        SELECT r."bucketStart" AS t, r.kind, r."serverId", r."toolName", r."userId", r."apiKeyId", r.model,
               r.events::bigint AS events, r.errors::bigint AS errors, r.quantity, r."inputTokens", r."outputTokens",
               r."cachedTokens", r."costUsd", r."durationMsSum", r."durationCount"::bigint AS "durationCount"
               ${rollupHistogram}
          FROM "UsageRollup" r
         WHERE r."organizationId" = ${q.organizationId}::uuid AND r.period = ${range.period}
           AND r."bucketStart" >= ${range.from} AND r."bucketStart" < ${range.to} ${filters("r")}`,
    );
    // Raw events where no rollup range stands for them: one part per uncovered interval.
    const rawParts = uncovered(q.from, q.to, q.rollups).map(
      (part) => Prisma.sql`
        SELECT e."occurredAt" AS t, e.kind, e."serverId", e."toolName", e."userId", e."apiKeyId", e.model,
               1::bigint AS events, (NOT e.success)::int::bigint AS errors, e.quantity::bigint AS quantity,
               e."inputTokens"::bigint AS "inputTokens", e."outputTokens"::bigint AS "outputTokens",
               e."cachedTokens"::bigint AS "cachedTokens", e."costUsd",
               coalesce(e."durationMs", 0)::bigint AS "durationMsSum", (e."durationMs" IS NOT NULL)::int::bigint AS "durationCount"
               ${rawHistogram}
          FROM "UsageEvent" e
         WHERE e."organizationId" = ${q.organizationId}::uuid
           AND e."occurredAt" >= ${part.from} AND e."occurredAt" < ${part.to} ${filters("e")}`,
    );
    // Never empty: [from, to) is not empty, and what rollups do not cover is read raw.
    return Prisma.join([...rollupParts, ...rawParts], " UNION ALL ");
  }

  /** Totals per time bucket and dimension set, one page. */
  async summarize(q: SummaryQuery): Promise<SummaryRow[]> {
    const grouped = new Set(q.dimensions.flatMap((d) => DIMENSION_COLUMNS[d]));
    const bucket =
      q.interval === UsageInterval.none
        ? Prisma.sql`NULL::timestamptz`
        : Prisma.sql`date_trunc(${q.interval}, t AT TIME ZONE ${q.timeZone}) AT TIME ZONE ${q.timeZone}`;
    const columns = ALL_COLUMNS.map((c) => (grouped.has(c) ? Prisma.raw(`"${c}"`) : Prisma.raw(`NULL AS "${c}"`)));
    const groupBy = ["1", ...ALL_COLUMNS.flatMap((c, i) => (grouped.has(c) ? [String(i + 2)] : []))];
    const rows = await this.db.$queryRaw<Array<Omit<SummaryRow, "costUsd"> & { costUsd: string }>>`
      WITH src AS (${this.source(q, false)})
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

  /** Totals and latency histograms of every server (or server and tool) with usage in the range. */
  async perTarget(q: SourceQuery, byTool: boolean): Promise<TargetRow[]> {
    const buckets = [...LATENCY_BUCKETS_MS, null];
    const histogram = Prisma.raw(buckets.map((_, i) => `sum(h${i + 1})::float8`).join(", "));
    const rows = await this.db.$queryRaw<Array<Omit<TargetRow, "histogram"> & { histogram: number[] }>>`
      WITH src AS (${this.source(q, true)})
      SELECT "serverId", ${byTool ? Prisma.sql`"toolName"` : Prisma.sql`NULL::text AS "toolName"`},
             sum(events)::float8 AS events, sum(errors)::float8 AS errors,
             (sum("inputTokens") + sum("outputTokens"))::float8 AS tokens, sum("costUsd")::text AS "costUsd",
             ARRAY[${histogram}] AS histogram
        FROM src
       WHERE "serverId" IS NOT NULL ${byTool ? Prisma.sql`AND "toolName" IS NOT NULL` : Prisma.empty}
       GROUP BY 1, 2`;
    return rows;
  }
}

export interface TargetRow {
  serverId: string;
  toolName: string | null;
  events: number;
  errors: number;
  tokens: number;
  costUsd: string;
  /** Events per latency bucket, `LATENCY_BUCKETS_MS` then the open one. */
  histogram: number[];
}

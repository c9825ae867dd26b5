import type { PrismaClient } from "../db/prisma";
import { DEFAULT_ROLLUP_OPTIONS, rolledUntil } from "./rollup";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Sums of one group of a day's usage. Money is a decimal string (exact), counts are numbers. */
export interface UsageTotals {
  events: number;
  quantity: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: string;
}

/** The `usage-analytics/<day>.json` report: one UTC day of usage, from the daily rollups. */
export interface UsageDayReport {
  /** The UTC day, `YYYY-MM-DD`. */
  day: string;
  totals: UsageTotals;
  byKind: Array<{ kind: string } & UsageTotals>;
  byOrganization: Array<{ organizationId: string } & UsageTotals>;
  /** Per server and kind; usage without a server (API requests, searches) is not in it. */
  byServer: Array<{ organizationId: string; serverId: string; kind: string } & UsageTotals>;
}

type Row = {
  grouping: number;
  kind: string | null;
  organizationId: string | null;
  serverId: string | null;
  events: bigint;
  quantity: bigint;
  errors: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  cachedTokens: bigint;
  costUsd: string;
};

/**
 * The usage of one UTC day (`day` is its midnight), summed from the daily rollups in one
 * statement: overall, per kind, per organization, per server and kind.
 */
export async function dailyUsageReport(db: PrismaClient, day: Date): Promise<UsageDayReport> {
  const rows = await db.$queryRaw<Row[]>`
    SELECT GROUPING(kind, "organizationId", "serverId")::int AS grouping,
           kind, "organizationId"::text AS "organizationId", "serverId"::text AS "serverId",
           SUM(events)::bigint AS events, SUM(quantity)::bigint AS quantity, SUM(errors)::bigint AS errors,
           SUM("inputTokens")::bigint AS "inputTokens", SUM("outputTokens")::bigint AS "outputTokens",
           SUM("cachedTokens")::bigint AS "cachedTokens", COALESCE(SUM("costUsd"), 0)::text AS "costUsd"
      FROM "UsageRollup"
     WHERE period = 'day' AND "bucketStart" = ${day}
     GROUP BY GROUPING SETS ((), (kind), ("organizationId"), ("organizationId", "serverId", kind))
    HAVING GROUPING("serverId") = 1 OR "serverId" IS NOT NULL
     ORDER BY grouping, kind, "organizationId", "serverId"`;
  const totals = (r: Row): UsageTotals => ({
    events: Number(r.events),
    quantity: Number(r.quantity),
    errors: Number(r.errors),
    inputTokens: Number(r.inputTokens),
    outputTokens: Number(r.outputTokens),
    cachedTokens: Number(r.cachedTokens),
    costUsd: r.costUsd,
  });
  // GROUPING bits, kind = 4, organizationId = 2, serverId = 1: a 1 is a column summed over.
  const set = (grouping: number) => rows.filter((r) => r.grouping === grouping);
  const overall = set(7)[0];
  return {
    day: day.toISOString().slice(0, 10),
    totals: overall
      ? totals(overall)
      : { events: 0, quantity: 0, errors: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0, costUsd: "0" },
    byKind: set(3).map((r) => ({ kind: r.kind!, ...totals(r) })),
    byOrganization: set(5).map((r) => ({ organizationId: r.organizationId!, ...totals(r) })),
    byServer: set(0).map((r) => ({
      organizationId: r.organizationId!,
      serverId: r.serverId!,
      kind: r.kind!,
      ...totals(r),
    })),
  };
}

/**
 * The last UTC day whose daily rollup is final: rolled to its end and past the hours the
 * rollup may still roll again for late events (`lookbackHours`). Null before any rollup.
 */
export async function lastFinalUsageDay(db: PrismaClient): Promise<Date | null> {
  const until = await rolledUntil(db);
  if (!until) return null;
  const settled = until.getTime() - DEFAULT_ROLLUP_OPTIONS.lookbackHours * HOUR_MS;
  return new Date(Math.floor(settled / DAY_MS) * DAY_MS - DAY_MS);
}

import { Prisma } from "@prisma/client";
import type { PrismaClient } from "../db/prisma";
import { AppError, ErrorCode } from "../errors";
import { emitEvent } from "../events/outbox";
import { type RollupRange, rolledUntil, rollupRanges, uncovered } from "./rollup";

/** Percentages of a budget whose crossing raises a `budget.crossed` event (once per month each). */
export const BUDGET_THRESHOLDS = [80, 100] as const;
export type BudgetMetric = "cost" | "requests";

/** The UTC calendar month that contains `t`: its key (`2026-12`) and bounds. */
export function utcMonth(t: Date): { key: string; start: Date; end: Date } {
  const start = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
  const end = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 1));
  return { key: start.toISOString().slice(0, 7), start, end };
}

export interface MonthToDate {
  /** Cost of every kind of usage, in US dollars. */
  cost: Prisma.Decimal;
  /** API requests (`api.request` events). */
  requests: number;
}

/**
 * An organization's usage from the start of the UTC month to `now`, exact: rollup rows for the
 * whole days and hours already rolled, raw events for the rest (as the usage summary reads).
 */
export async function monthToDate(db: PrismaClient, organizationId: string, now = new Date()): Promise<MonthToDate> {
  const { start } = utcMonth(now);
  const until = await rolledUntil(db);
  const ranges: RollupRange[] = until ? rollupRanges(start, now, until, "none", "UTC") : [];
  const rollupParts = ranges.map(
    (r) => Prisma.sql`
      SELECT sum("costUsd") AS cost, sum(events) FILTER (WHERE kind = 'api.request') AS requests
        FROM "UsageRollup"
       WHERE "organizationId" = ${organizationId}::uuid AND period = ${r.period}
         AND "bucketStart" >= ${r.from} AND "bucketStart" < ${r.to}`,
  );
  const rawParts = uncovered(start, now, ranges).map(
    (part) => Prisma.sql`
      SELECT sum("costUsd") AS cost, sum(quantity) FILTER (WHERE kind = 'api.request') AS requests
        FROM "UsageEvent"
       WHERE "organizationId" = ${organizationId}::uuid AND "occurredAt" >= ${part.from} AND "occurredAt" < ${part.to}`,
  );
  const [row] = await db.$queryRaw<Array<{ cost: string | null; requests: number | null }>>`
    SELECT coalesce(sum(cost), 0)::text AS cost, coalesce(sum(requests), 0)::float8 AS requests
      FROM (${Prisma.join([...rollupParts, ...rawParts], " UNION ALL ")}) parts`;
  return { cost: new Prisma.Decimal(row?.cost ?? "0"), requests: row?.requests ?? 0 };
}

/**
 * Checks every organization that has a budget (the scheduler's leader, every minute): a
 * threshold crossed this month and not yet recorded is recorded with its `budget.crossed`
 * event in one transaction — the unique key makes each alert, and so each event and webhook,
 * happen once per month, however many schedulers race. Returns the alerts raised.
 */
export async function checkBudgets(db: PrismaClient, now = new Date()): Promise<number> {
  const month = utcMonth(now);
  const budgets = await db.usageBudget.findMany({
    where: { OR: [{ monthlyCostUsd: { not: null } }, { monthlyRequests: { not: null } }] },
  });
  let raised = 0;
  for (const budget of budgets) {
    const used = await monthToDate(db, budget.organizationId, now);
    const measures: Array<[BudgetMetric, Prisma.Decimal, Prisma.Decimal | null]> = [
      ["cost", used.cost, budget.monthlyCostUsd],
      [
        "requests",
        new Prisma.Decimal(used.requests),
        budget.monthlyRequests === null ? null : new Prisma.Decimal(budget.monthlyRequests),
      ],
    ];
    for (const [metric, value, limit] of measures) {
      if (limit === null || limit.lte(0)) continue;
      for (const threshold of BUDGET_THRESHOLDS) {
        if (value.lt(limit.mul(threshold).div(100))) continue;
        raised += await db.$transaction(async (tx) => {
          const inserted = await tx.$executeRaw`
            INSERT INTO "UsageBudgetAlert" (id, "organizationId", month, metric, threshold, used, budget)
            VALUES (gen_random_uuid(), ${budget.organizationId}::uuid, ${month.key}, ${metric}, ${threshold},
                    ${value.toFixed()}::numeric, ${limit.toFixed()}::numeric)
            ON CONFLICT ("organizationId", month, metric, threshold) DO NOTHING`;
          if (inserted === 0) return 0;
          await emitEvent(tx, {
            organizationId: budget.organizationId,
            type: "budget.crossed",
            aggregateId: budget.organizationId,
            payload: {
              month: month.key,
              metric,
              threshold,
              used: metric === "cost" ? value.toFixed() : value.toNumber(),
              budget: metric === "cost" ? limit.toFixed() : limit.toNumber(),
              hardLimit: budget.hardLimit,
            },
          });
          return 1;
        });
      }
    }
  }
  return raised;
}

/**
 * BUDGET_EXCEEDED when the organization has a hard limit and used up a budget this month (as
 * the last budget check recorded: refusals follow usage within the check interval), else null.
 */
export async function budgetRefusal(
  db: Pick<PrismaClient, "$queryRaw">,
  organizationId: string,
  now = new Date(),
): Promise<AppError | null> {
  // One statement (every chat message and every budget read asks): the hard limit and a budget
  // used up this month, by the last check's alert at 100 %.
  const month = utcMonth(now).key;
  const [exhausted] = await db.$queryRaw<Array<{ metric: string; budget: string }>>`
    SELECT a.metric, a.budget::text AS budget
      FROM "UsageBudget" b
      JOIN "UsageBudgetAlert" a ON a."organizationId" = b."organizationId" AND a.month = ${month} AND a.threshold = 100
     WHERE b."organizationId" = ${organizationId}::uuid AND b."hardLimit"
     ORDER BY a.metric
     LIMIT 1`;
  if (!exhausted) return null;
  return new AppError(ErrorCode.BUDGET_EXCEEDED, `The organization's monthly ${exhausted.metric} budget is used up`, {
    metric: exhausted.metric,
    budget: new Prisma.Decimal(exhausted.budget).toFixed(),
    month,
  });
}

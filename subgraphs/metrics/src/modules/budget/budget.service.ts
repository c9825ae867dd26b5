import {
  budgetRefusal,
  checkInput,
  monthToDate,
  type Principal,
  Prisma,
  type PrismaClient,
  recordChange,
  utcMonth,
} from "@sprintconnect/core";
import { type Actor, sourceOf } from "@sprintconnect/subgraph-kit";
import { z } from "zod";
import type { SetUsageBudgetInput, UsageBudget } from "./budget.type";

const rules = z.object({
  monthlyCostUsd: z
    .string()
    .regex(/^\d{1,10}(\.\d{1,8})?$/, "must be a non-negative decimal with at most 8 decimals, e.g. 250.00")
    .nullish(),
  monthlyRequests: z.number().int().min(1, "must be at least 1").nullish(),
  hardLimit: z.boolean().nullish(),
});

/** Monthly budgets: read with this month's usage, set by owners (audited). Checks run in the scheduler. */
export class BudgetService {
  constructor(private readonly db: PrismaClient) {}

  async get(principal: Principal): Promise<UsageBudget> {
    const now = new Date();
    const { organizationId } = principal;
    const [budget, used, alerts, refusal] = await Promise.all([
      this.db.usageBudget.findUnique({ where: { organizationId } }),
      monthToDate(this.db, organizationId, now),
      this.db.usageBudgetAlert.findMany({
        where: { organizationId, month: utcMonth(now).key },
        orderBy: [{ createdAt: "asc" }, { metric: "asc" }],
      }),
      budgetRefusal(this.db, organizationId, now),
    ]);
    const percent = (value: Prisma.Decimal, limit: Prisma.Decimal | null) =>
      limit?.gt(0) ? value.div(limit).mul(100).toNumber() : null;
    return {
      monthlyCostUsd: budget?.monthlyCostUsd?.toFixed() ?? null,
      monthlyRequests: budget?.monthlyRequests ?? null,
      hardLimit: budget?.hardLimit ?? false,
      month: utcMonth(now).key,
      costUsd: used.cost.toFixed(),
      requests: used.requests,
      costPercent: percent(used.cost, budget?.monthlyCostUsd ?? null),
      requestsPercent: percent(
        new Prisma.Decimal(used.requests),
        budget?.monthlyRequests ? new Prisma.Decimal(budget.monthlyRequests) : null,
      ),
      exceeded: refusal !== null,
      alerts: alerts.map((a) => ({
        metric: a.metric,
        threshold: a.threshold,
        used: a.used.toFixed(),
        at: a.createdAt,
      })),
    };
  }

  async set(actor: Actor, input: SetUsageBudgetInput): Promise<UsageBudget> {
    const data = checkInput(rules, input);
    const { organizationId } = actor.principal;
    const changes = {
      ...(data.monthlyCostUsd !== undefined ? { monthlyCostUsd: data.monthlyCostUsd } : {}),
      ...(data.monthlyRequests !== undefined ? { monthlyRequests: data.monthlyRequests } : {}),
      ...(data.hardLimit !== undefined && data.hardLimit !== null ? { hardLimit: data.hardLimit } : {}),
    };
    await this.db.$transaction(async (tx) => {
      const before = await tx.usageBudget.findUnique({ where: { organizationId } });
      const after = await tx.usageBudget.upsert({
        where: { organizationId },
        create: { organizationId, ...changes },
        update: changes,
      });
      const view = (b: typeof before) =>
        b
          ? {
              monthlyCostUsd: b.monthlyCostUsd?.toFixed() ?? null,
              monthlyRequests: b.monthlyRequests,
              hardLimit: b.hardLimit,
            }
          : null;
      await recordChange(tx, sourceOf(actor), {
        organizationId,
        type: "budget.updated",
        targetType: "organization",
        targetId: organizationId,
        data: { before: view(before), after: view(after) },
        payload: { organizationId, ...view(after) },
      });
    });
    return this.get(actor.principal);
  }
}

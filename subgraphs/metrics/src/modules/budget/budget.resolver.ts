import { actorOf, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from "type-graphql";
import type { BudgetService } from "./budget.service";
import { SetUsageBudgetInput, UsageBudget } from "./budget.type";

@Resolver()
export class BudgetResolver {
  constructor(private readonly service: BudgetService) {}

  @Authorized("metrics:read")
  @Query((_returns) => UsageBudget, {
    description:
      "The organization's monthly budgets and this month's usage against them (REST: GET /v1/metrics/budget)",
  })
  usageBudget(@Ctx() ctx: SubgraphContext): Promise<UsageBudget> {
    return this.service.get(requirePrincipal(ctx));
  }

  @Authorized("org:manage")
  @Mutation((_returns) => UsageBudget, {
    description: "Sets the organization's monthly budgets (REST: PATCH /v1/metrics/budget)",
  })
  setUsageBudget(
    @Ctx() ctx: SubgraphContext,
    @Arg("input", (_type) => SetUsageBudgetInput) input: SetUsageBudgetInput,
  ): Promise<UsageBudget> {
    return this.service.set(actorOf(ctx, requirePrincipal(ctx)), input);
  }
}

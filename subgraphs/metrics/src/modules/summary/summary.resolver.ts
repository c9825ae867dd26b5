import { requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Args, Authorized, Ctx, Query, Resolver } from "type-graphql";
import { UsageSummaryArgs, UsageTopArgs } from "./summary.input";
import type { SummaryService } from "./summary.service";
import { UsageSummary, UsageTop } from "./summary.type";

@Resolver()
export class SummaryResolver {
  constructor(private readonly service: SummaryService) {}

  @Authorized("metrics:read")
  @Query((_returns) => UsageSummary, {
    description:
      "The organization's usage summed per time bucket and per requested dimensions (REST: GET /v1/metrics/usage); exact",
  })
  usageSummary(
    @Ctx() ctx: SubgraphContext,
    @Args((_type) => UsageSummaryArgs) args: UsageSummaryArgs,
  ): Promise<UsageSummary> {
    return this.service.summarize(requirePrincipal(ctx), args);
  }

  @Authorized("metrics:read")
  @Query((_returns) => UsageTop, {
    description:
      "Servers or their tools ranked by calls, errors, p95 latency, tokens or cost over a range (REST: GET /v1/metrics/top)",
  })
  usageTop(@Ctx() ctx: SubgraphContext, @Args((_type) => UsageTopArgs) args: UsageTopArgs): Promise<UsageTop> {
    return this.service.top(requirePrincipal(ctx), args);
  }
}

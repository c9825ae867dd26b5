import { requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Args, Authorized, Ctx, Query, Resolver } from "type-graphql";
import { UsageSummaryArgs } from "./summary.input";
import type { SummaryService } from "./summary.service";
import { UsageSummary } from "./summary.type";

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
}

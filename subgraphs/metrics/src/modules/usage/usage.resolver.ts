import { requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Args, Authorized, Ctx, Query, Resolver } from "type-graphql";
import { UsageEventsArgs } from "./usage.input";
import type { UsageService } from "./usage.service";
import { UsageEvent, UsageEventConnection } from "./usage.type";

@Resolver((_of) => UsageEvent)
export class UsageResolver {
  constructor(private readonly service: UsageService) {}

  @Authorized("metrics:read")
  @Query((_returns) => UsageEventConnection, { description: "The organization's usage events, newest first" })
  usageEvents(
    @Ctx() ctx: SubgraphContext,
    @Args((_type) => UsageEventsArgs) args: UsageEventsArgs,
  ): Promise<UsageEventConnection> {
    return this.service.list(requirePrincipal(ctx), args);
  }
}

import { requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Args, Authorized, Ctx, Query, Resolver } from "type-graphql";
import type { AvailabilityService } from "./availability.service";
import { ServerAvailabilityArgs, ServerAvailabilityReport } from "./availability.type";

@Resolver()
export class AvailabilityResolver {
  constructor(private readonly service: AvailabilityService) {}

  @Authorized("metrics:read")
  @Query((_returns) => ServerAvailabilityReport, {
    description:
      "Availability per server over a window: uptime, time in each state, incidents, MTTR (REST: GET /v1/metrics/health)",
  })
  serverAvailability(
    @Ctx() ctx: SubgraphContext,
    @Args((_type) => ServerAvailabilityArgs) args: ServerAvailabilityArgs,
  ): Promise<ServerAvailabilityReport> {
    return this.service.report(requirePrincipal(ctx), args);
  }
}

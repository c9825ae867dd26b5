import { requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from "type-graphql";
import type { HistoryService } from "./history.service";
import { CapabilityChangeRecordConnection, DiscoveryRun } from "./history.type";

@Resolver()
export class HistoryResolver {
  constructor(private readonly service: HistoryService) {}

  @Authorized("servers:read")
  @Query((_returns) => CapabilityChangeRecordConnection, {
    description: "What discoveries found added, changed or removed on a server, newest first",
  })
  mcpServerCapabilityChanges(
    @Ctx() ctx: SubgraphContext,
    @Arg("serverId", (_type) => ID) serverId: string,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 200; default 50" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<CapabilityChangeRecordConnection> {
    return this.service.changes(requirePrincipal(ctx), serverId, limit, cursor);
  }

  @Authorized("servers:read")
  @Query((_returns) => DiscoveryRun, { description: "A discovery job by the id `discoverMcpServer` returned" })
  discoveryJob(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<DiscoveryRun> {
    return this.service.run(requirePrincipal(ctx), id);
  }
}

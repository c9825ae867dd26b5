import { actorOf, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import { CapabilityKind } from "../shared/enums";
import { UpdateMcpCapabilityInput } from "./capability.input";
import type { CapabilityService } from "./capability.service";
import { McpCapability, McpCapabilityConnection } from "./capability.type";

@Resolver((_of) => McpCapability)
export class CapabilityResolver {
  constructor(private readonly service: CapabilityService) {}

  @Authorized("servers:read")
  @Query((_returns) => McpCapabilityConnection, { description: "Capabilities discovered on a server" })
  mcpServerCapabilities(
    @Ctx() ctx: SubgraphContext,
    @Arg("serverId", (_type) => ID) serverId: string,
    @Arg("kind", (_type) => CapabilityKind, { nullable: true }) kind?: CapabilityKind,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 200; default 50" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<McpCapabilityConnection> {
    return this.service.listForServer(requirePrincipal(ctx), serverId, kind, limit, cursor);
  }

  @Authorized("servers:write")
  @Mutation((_returns) => McpCapability)
  updateMcpCapability(
    @Ctx() ctx: SubgraphContext,
    @Arg("id", (_type) => ID) id: string,
    @Arg("input", (_type) => UpdateMcpCapabilityInput) input: UpdateMcpCapabilityInput,
  ): Promise<McpCapability> {
    return this.service.update(actorOf(ctx, requirePrincipal(ctx)), id, input);
  }
}

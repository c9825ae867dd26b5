import { requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from "type-graphql";
import { CapabilityKind, HealthStatus, McpEnvironment } from "../shared/enums";
import type { SearchService } from "./search.service";
import { CapabilityMatchConnection, ServerDiscoveryConnection } from "./search.type";

@Resolver()
export class SearchResolver {
  constructor(private readonly service: SearchService) {}

  @Authorized("servers:read")
  @Query((_returns) => ServerDiscoveryConnection, {
    description:
      "Find servers by capability, tag, environment, health and free text, among those the caller's policies let it discover; healthy servers first",
  })
  discoverServers(
    @Ctx() ctx: SubgraphContext,
    @Arg("capability", (_type) => String, { nullable: true, description: "Part of a capability's name" })
    capability?: string,
    @Arg("tag", (_type) => String, { nullable: true }) tag?: string,
    @Arg("environment", (_type) => McpEnvironment, { nullable: true }) environment?: McpEnvironment,
    @Arg("health", (_type) => HealthStatus, { nullable: true }) health?: HealthStatus,
    @Arg("q", (_type) => String, { nullable: true, description: "Text in names and descriptions" }) q?: string,
    @Arg("limit", (_type) => Int, { nullable: true }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
    @Arg("explain", (_type) => Boolean, { nullable: true, description: "Also list what was excluded, and why" })
    explain?: boolean,
  ): Promise<ServerDiscoveryConnection> {
    return this.service.findServers(
      requirePrincipal(ctx),
      { capability, tag, environment, health, q },
      limit,
      cursor,
      explain === true,
    );
  }

  @Authorized("servers:read")
  @Query((_returns) => CapabilityMatchConnection, {
    description:
      "Find enabled capabilities by name, kind, server and free text, among those the caller's policies let it discover; on healthy servers first",
  })
  discoverCapabilities(
    @Ctx() ctx: SubgraphContext,
    @Arg("name", (_type) => String, { nullable: true, description: "Part of the name" }) name?: string,
    @Arg("kind", (_type) => CapabilityKind, { nullable: true }) kind?: CapabilityKind,
    @Arg("serverId", (_type) => ID, { nullable: true }) serverId?: string,
    @Arg("q", (_type) => String, { nullable: true, description: "Text in names and descriptions" }) q?: string,
    @Arg("limit", (_type) => Int, { nullable: true }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
    @Arg("explain", (_type) => Boolean, { nullable: true, description: "Also list what was excluded, and why" })
    explain?: boolean,
  ): Promise<CapabilityMatchConnection> {
    return this.service.findCapabilities(
      requirePrincipal(ctx),
      { name, kind, serverId, q },
      limit,
      cursor,
      explain === true,
    );
  }
}

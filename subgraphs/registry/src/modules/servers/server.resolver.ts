import { actorOf, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import type { GraphQLResolveInfo } from "graphql";
import { Arg, Authorized, Ctx, ID, Info, Int, Mutation, Query, Resolver } from "type-graphql";
import { McpEnvironment } from "../shared/enums";
import { selectedFields } from "../shared/selection";
import { RegisterMcpServerInput, UpdateMcpServerInput } from "./server.input";
import type { ServerService } from "./server.service";
import { DiscoveryJob, McpServer, McpServerConnection, McpServerHealthReport } from "./server.type";

@Resolver((_of) => McpServer)
export class ServerResolver {
  constructor(private readonly service: ServerService) {}

  @Authorized("servers:read")
  @Query((_returns) => McpServerConnection, { description: "Servers of the caller's organization, newest first" })
  mcpServers(
    @Ctx() ctx: SubgraphContext,
    @Info() info: GraphQLResolveInfo,
    @Arg("environment", (_type) => McpEnvironment, { nullable: true }) environment?: McpEnvironment,
    @Arg("tag", (_type) => String, { nullable: true }) tag?: string,
    @Arg("q", (_type) => String, { nullable: true, description: "Text in the name or description" }) q?: string,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 100; default 20" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<McpServerConnection> {
    const fields = selectedFields(info, "items");
    return this.service.list(requirePrincipal(ctx), { environment, tag, q }, limit, cursor, fields);
  }

  @Authorized("servers:read")
  @Query((_returns) => McpServer, { description: "One server; NOT_FOUND if absent or deregistered" })
  mcpServer(
    @Ctx() ctx: SubgraphContext,
    @Info() info: GraphQLResolveInfo,
    @Arg("id", (_type) => ID) id: string,
  ): Promise<McpServer> {
    return this.service.get(requirePrincipal(ctx), id, selectedFields(info));
  }

  @Authorized("servers:read")
  @Query((_returns) => McpServerHealthReport, { description: "Current health, last check, latency and recent history" })
  mcpServerHealth(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<McpServerHealthReport> {
    return this.service.health(requirePrincipal(ctx), id);
  }

  @Authorized("servers:write")
  @Mutation((_returns) => DiscoveryJob, {
    description: "Queues a discovery of the server's capabilities; a pending or running one is returned instead",
  })
  async discoverMcpServer(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<DiscoveryJob> {
    const run = await this.service.discover(actorOf(ctx, requirePrincipal(ctx)), id);
    return { jobId: run.runId, serverId: run.serverId, status: run.status as DiscoveryJob["status"] };
  }

  @Authorized("servers:write")
  @Mutation((_returns) => McpServer)
  registerMcpServer(
    @Ctx() ctx: SubgraphContext,
    @Arg("input", (_type) => RegisterMcpServerInput) input: RegisterMcpServerInput,
  ): Promise<McpServer> {
    return this.service.register(actorOf(ctx, requirePrincipal(ctx)), input);
  }

  @Authorized("servers:write")
  @Mutation((_returns) => McpServer)
  updateMcpServer(
    @Ctx() ctx: SubgraphContext,
    @Arg("id", (_type) => ID) id: string,
    @Arg("input", (_type) => UpdateMcpServerInput) input: UpdateMcpServerInput,
  ): Promise<McpServer> {
    return this.service.update(actorOf(ctx, requirePrincipal(ctx)), id, input);
  }

  @Authorized("servers:write")
  @Mutation((_returns) => McpServer, { description: "Soft delete: the server leaves lists and reads" })
  deregisterMcpServer(@Ctx() ctx: SubgraphContext, @Arg("id", (_type) => ID) id: string): Promise<McpServer> {
    return this.service.deregister(actorOf(ctx, requirePrincipal(ctx)), id);
  }
}

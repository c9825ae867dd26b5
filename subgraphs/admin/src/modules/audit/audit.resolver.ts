import { requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, Int, Query, Resolver } from "type-graphql";
import type { AuditService } from "./audit.service";
import { AuditLogConnection, AuditLogEntry, AuditVerification } from "./audit.type";

@Resolver((_of) => AuditLogEntry)
export class AuditResolver {
  constructor(private readonly service: AuditService) {}

  @Authorized("audit:read")
  @Query((_returns) => AuditLogConnection, { description: "The organization's audit log, newest first" })
  auditLogs(
    @Ctx() ctx: SubgraphContext,
    @Arg("action", (_type) => String, { nullable: true, description: "e.g. server.registered" }) action?: string,
    @Arg("targetId", (_type) => String, { nullable: true }) targetId?: string,
    @Arg("actorId", (_type) => String, { nullable: true }) actorId?: string,
    @Arg("from", (_type) => Date, { nullable: true, description: "Entries at or after this time" }) from?: Date,
    @Arg("to", (_type) => Date, { nullable: true, description: "Entries at or before this time" }) to?: Date,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 100; default 20" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<AuditLogConnection> {
    return this.service.list(requirePrincipal(ctx), { action, targetId, actorId, from, to }, limit, cursor);
  }

  @Authorized("audit:read")
  @Query((_returns) => AuditVerification, {
    description:
      "Recomputes the hash chain, checks that the log still reaches its newest signed anchor (so cut-off entries are detected), reports the first break, and anchors an intact log's head",
  })
  verifyAuditLog(@Ctx() ctx: SubgraphContext): Promise<AuditVerification> {
    return this.service.verify(requirePrincipal(ctx));
  }
}

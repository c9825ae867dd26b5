import { actorOf, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { AuditService } from "./audit.service";
import { AuditExport, AuditExportFormat, AuditLogConnection, AuditLogEntry, AuditVerification } from "./audit.type";

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

  // ---- export (issue 9) ----

  @Authorized("audit:read")
  @Mutation((_returns) => AuditExport, {
    description:
      "Starts an export of the audit log with the filters of `auditLogs`: records it as an audit entry of its own and says how many entries it holds; read them with `auditLogExportPage` (REST: GET /v1/audit/logs?format=json|csv|ndjson streams them)",
  })
  exportAuditLog(
    @Ctx() ctx: SubgraphContext,
    @Arg("format", (_type) => AuditExportFormat) format: AuditExportFormat,
    @Arg("action", (_type) => String, { nullable: true }) action?: string,
    @Arg("targetId", (_type) => String, { nullable: true }) targetId?: string,
    @Arg("actorId", (_type) => String, { nullable: true }) actorId?: string,
    @Arg("from", (_type) => Date, { nullable: true }) from?: Date,
    @Arg("to", (_type) => Date, { nullable: true }) to?: Date,
  ): Promise<AuditExport> {
    return this.service.startExport(actorOf(ctx, requirePrincipal(ctx)), format, {
      action,
      targetId,
      actorId,
      from,
      to,
    });
  }

  @Authorized("audit:read")
  @Query((_returns) => AuditLogConnection, {
    description: "A page of an export started with `exportAuditLog`, newest first",
  })
  auditLogExportPage(
    @Ctx() ctx: SubgraphContext,
    @Arg("exportId", (_type) => ID) exportId: string,
    @Arg("limit", (_type) => Int, { nullable: true, description: "1 to 1000; default 1000" }) limit?: number,
    @Arg("cursor", (_type) => String, { nullable: true }) cursor?: string,
  ): Promise<AuditLogConnection> {
    return this.service.exportPage(requirePrincipal(ctx), exportId, limit, cursor);
  }

  // ---- end export ----

  @Authorized("audit:read")
  @Query((_returns) => AuditVerification, {
    description:
      "Recomputes the hash chain, checks that the log still reaches its newest signed anchor (so cut-off entries are detected), reports the first break, and anchors an intact log's head",
  })
  verifyAuditLog(@Ctx() ctx: SubgraphContext): Promise<AuditVerification> {
    return this.service.verify(requirePrincipal(ctx));
  }
}

import {
  type AuditLog as AuditLogRow,
  type AuditVerification,
  type Db,
  type Prisma,
  verifyAuditChain,
} from "@sprintconnect/core";

export interface AuditLogFilter {
  action?: string | null;
  targetId?: string | null;
  actorId?: string | null;
  from?: Date | null;
  to?: Date | null;
}

/** The only code that reads the audit log (core's `writeAudit` appends to it); scoped by organization. */
export class AuditRepository {
  constructor(private readonly db: Db) {}

  /** `limit + 1` entries with a seq below `beforeSeq`, newest first. */
  list(
    organizationId: string,
    filter: AuditLogFilter,
    limit: number,
    beforeSeq: bigint | null,
  ): Promise<AuditLogRow[]> {
    const createdAt: Prisma.DateTimeFilter = {
      ...(filter.from ? { gte: filter.from } : {}),
      ...(filter.to ? { lte: filter.to } : {}),
    };
    return this.db.auditLog.findMany({
      where: {
        organizationId,
        ...(filter.action ? { action: filter.action } : {}),
        ...(filter.targetId ? { targetId: filter.targetId } : {}),
        ...(filter.actorId ? { actorId: filter.actorId } : {}),
        ...(filter.from || filter.to ? { createdAt } : {}),
        ...(beforeSeq !== null ? { seq: { lt: beforeSeq } } : {}),
      },
      orderBy: { seq: "desc" },
      take: limit + 1,
    });
  }

  verify(organizationId: string): Promise<AuditVerification> {
    return verifyAuditChain(this.db, organizationId);
  }
}

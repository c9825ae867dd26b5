import {
  type AuditLog as AuditLogRow,
  type AuditLogVerification,
  type Db,
  type KeyRing,
  type Prisma,
  verifyAuditLog,
} from "@sprintconnect/core";

export interface AuditLogFilter {
  action?: string | null;
  targetId?: string | null;
  actorId?: string | null;
  from?: Date | null;
  to?: Date | null;
}

/**
 * The only code that reads the audit log (core's `writeAudit` appends to it; verification
 * appends anchors); scoped by organization.
 */
export class AuditRepository {
  constructor(
    private readonly db: Db,
    private readonly keys: KeyRing,
  ) {}

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

  /** Verifies the chain and its newest anchor, then anchors the verified head. */
  verify(organizationId: string): Promise<AuditLogVerification> {
    return verifyAuditLog(this.db, this.keys, organizationId);
  }
}

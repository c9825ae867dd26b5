import {
  type AuditLog as AuditLogRow,
  type AuditLogVerification,
  type KeyRing,
  lockAuditChain,
  type Prisma,
  type PrismaClient,
  verifyAuditLog,
  writeAudit,
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
    private readonly db: PrismaClient,
    private readonly keys: KeyRing,
  ) {}

  /** `limit + 1` entries with a seq below `beforeSeq`, newest first. */
  list(
    organizationId: string,
    filter: AuditLogFilter,
    limit: number,
    beforeSeq: bigint | null,
  ): Promise<AuditLogRow[]> {
    return this.db.auditLog.findMany({
      where: { ...where(organizationId, filter), ...(beforeSeq !== null ? { seq: { lt: beforeSeq } } : {}) },
      orderBy: { seq: "desc" },
      take: limit + 1,
    });
  }

  // ---- export (issue 9) ----

  /**
   * Counts the entries that match `filter` and appends the export's own entry after them
   * (`audit.exported`, with `data` and that count as `rows`), under the chain's lock: the count
   * is exactly what the export's pages (the entries before its own) hold.
   */
  recordExport(
    organizationId: string,
    filter: AuditLogFilter,
    entry: Omit<Parameters<typeof writeAudit>[1], "organizationId" | "action"> & { data: Record<string, unknown> },
  ): Promise<{ id: string; seq: bigint; rows: number }> {
    return this.db.$transaction(async (tx) => {
      await lockAuditChain(tx, organizationId);
      const rows = await tx.auditLog.count({ where: where(organizationId, filter) });
      await writeAudit(tx, { ...entry, organizationId, action: "audit.exported", data: { ...entry.data, rows } });
      const own = await tx.auditLog.findFirstOrThrow({
        where: { organizationId },
        orderBy: { seq: "desc" },
        select: { id: true, seq: true },
      });
      return { id: own.id, seq: own.seq, rows };
    });
  }

  /** An export's own entry, by id, in the organization. */
  findExport(organizationId: string, id: string): Promise<AuditLogRow | null> {
    return this.db.auditLog.findFirst({ where: { organizationId, id, action: "audit.exported" } });
  }

  // ---- end export ----

  /** Verifies the chain and its newest anchor, then anchors the verified head. */
  verify(organizationId: string): Promise<AuditLogVerification> {
    return verifyAuditLog(this.db, this.keys, organizationId);
  }
}

/** The organization's entries that match `filter`. */
function where(organizationId: string, filter: AuditLogFilter): Prisma.AuditLogWhereInput {
  const createdAt: Prisma.DateTimeFilter = {
    ...(filter.from ? { gte: filter.from } : {}),
    ...(filter.to ? { lte: filter.to } : {}),
  };
  return {
    organizationId,
    ...(filter.action ? { action: filter.action } : {}),
    ...(filter.targetId ? { targetId: filter.targetId } : {}),
    ...(filter.actorId ? { actorId: filter.actorId } : {}),
    ...(filter.from || filter.to ? { createdAt } : {}),
  };
}

import { type AuditLog as AuditLogRow, badRequest, notFound, type Principal, pageSize } from "@sprintconnect/core";
import { type Actor, isUuid, sourceOf } from "@sprintconnect/subgraph-kit";
import type { AuditLogFilter, AuditRepository } from "./audit.repository";
import type {
  AuditExport,
  AuditExportFormat,
  AuditLogConnection,
  AuditLogEntry,
  AuditVerification,
} from "./audit.type";

/** Largest page of an export (the gateway streams it page by page; a page is held in memory). */
export const AUDIT_EXPORT_PAGE_MAX = 1000;

/** Reading and verifying the organization's audit log. */
export class AuditService {
  constructor(private readonly audit: AuditRepository) {}

  async list(
    principal: Principal,
    filter: AuditLogFilter,
    limit?: number | null,
    cursor?: string | null,
  ): Promise<AuditLogConnection> {
    return this.page(principal.organizationId, filter, pageSize(limit), cursor ? decodeSeqCursor(cursor) : null);
  }

  verify(principal: Principal): Promise<AuditVerification> {
    return this.audit.verify(principal.organizationId);
  }

  // ---- export (issue 9) ----

  /**
   * Starts an export: records it as an entry of its own (actor, format, filters, row count) and
   * returns what its pages will hold: the matching entries before that entry, a fixed set
   * however the log grows while it is read.
   */
  async startExport(actor: Actor, format: AuditExportFormat, filter: AuditLogFilter): Promise<AuditExport> {
    const filters = {
      action: filter.action ?? null,
      targetId: filter.targetId ?? null,
      actorId: filter.actorId ?? null,
      from: filter.from ?? null,
      to: filter.to ?? null,
    };
    if (filters.from && filters.to && filters.from > filters.to) {
      throw badRequest("from must not be after to", { field: "from" });
    }
    const source = sourceOf(actor);
    const recorded = await this.audit.recordExport(actor.principal.organizationId, filter, {
      actorType: source.actorType,
      actorId: source.actorId,
      requestId: source.requestId,
      ip: source.ip,
      targetType: "audit_log",
      data: { format, filters },
    });
    return { id: recorded.id, format, rows: recorded.rows, throughSeq: (recorded.seq - 1n).toString(), ...filters };
  }

  /** A page of an export started by {@link startExport}, newest first, with the filters it recorded. */
  async exportPage(
    principal: Principal,
    exportId: string,
    limit?: number | null,
    cursor?: string | null,
  ): Promise<AuditLogConnection> {
    const own = isUuid(exportId) ? await this.audit.findExport(principal.organizationId, exportId) : null;
    if (!own) throw notFound("Audit export");
    const recorded = (own.data as { filters?: Record<string, string | null> }).filters ?? {};
    const filter: AuditLogFilter = {
      action: recorded.action ?? null,
      targetId: recorded.targetId ?? null,
      actorId: recorded.actorId ?? null,
      from: recorded.from ? new Date(recorded.from) : null,
      to: recorded.to ? new Date(recorded.to) : null,
    };
    const take = pageSize(limit, AUDIT_EXPORT_PAGE_MAX, AUDIT_EXPORT_PAGE_MAX);
    const beforeSeq = cursor ? decodeSeqCursor(cursor) : own.seq;
    if (beforeSeq > own.seq) throw badRequest("Invalid cursor", { field: "cursor" });
    return this.page(principal.organizationId, filter, take, beforeSeq);
  }

  private async page(
    organizationId: string,
    filter: AuditLogFilter,
    take: number,
    beforeSeq: bigint | null,
  ): Promise<AuditLogConnection> {
    const rows = await this.audit.list(organizationId, filter, take, beforeSeq);
    const items = rows.slice(0, take);
    const last = items[items.length - 1];
    return {
      items: items.map(toAuditLogEntry),
      nextCursor: rows.length > take && last ? encodeSeqCursor(last.seq) : null,
    };
  }

  // ---- end export ----
}

// The log is ordered by its own sequence number, so its cursor is that number (opaque to
// callers) rather than core's (createdAt, id) cursor.

function encodeSeqCursor(seq: bigint): string {
  return Buffer.from(JSON.stringify({ seq: seq.toString() })).toString("base64url");
}

function decodeSeqCursor(cursor: string): bigint {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { seq?: unknown };
    if (typeof parsed.seq === "string" && /^[1-9][0-9]{0,18}$/.test(parsed.seq)) return BigInt(parsed.seq);
  } catch {
    // fall through
  }
  throw badRequest("Invalid cursor", { field: "cursor" });
}

function toAuditLogEntry(row: AuditLogRow): AuditLogEntry {
  return {
    id: row.id,
    seq: row.seq.toString(),
    actorType: row.actorType,
    actorId: row.actorId,
    action: row.action,
    targetType: row.targetType,
    targetId: row.targetId,
    requestId: row.requestId,
    ip: row.ip,
    data: (row.data ?? {}) as Record<string, unknown>,
    prevHash: row.prevHash,
    hash: row.hash,
    createdAt: row.createdAt,
  };
}

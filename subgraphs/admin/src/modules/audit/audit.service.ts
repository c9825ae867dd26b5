import { type AuditLog as AuditLogRow, badRequest, type Principal, pageSize } from "@sprintconnect/core";
import type { AuditLogFilter, AuditRepository } from "./audit.repository";
import type { AuditLogConnection, AuditLogEntry, AuditVerification } from "./audit.type";

/** Reading and verifying the organization's audit log. */
export class AuditService {
  constructor(private readonly audit: AuditRepository) {}

  async list(
    principal: Principal,
    filter: AuditLogFilter,
    limit?: number | null,
    cursor?: string | null,
  ): Promise<AuditLogConnection> {
    const take = pageSize(limit);
    const beforeSeq = cursor ? decodeSeqCursor(cursor) : null;
    const rows = await this.audit.list(principal.organizationId, filter, take, beforeSeq);
    const items = rows.slice(0, take);
    const last = items[items.length - 1];
    return {
      items: items.map(toAuditLogEntry),
      nextCursor: rows.length > take && last ? encodeSeqCursor(last.seq) : null,
    };
  }

  verify(principal: Principal): Promise<AuditVerification> {
    return this.audit.verify(principal.organizationId);
  }
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

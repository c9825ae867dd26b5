import { createHash, randomUUID } from "node:crypto";
import { canonicalize } from "json-canonicalize";
import type { Db } from "../db/prisma";

/** What happened, by whom, to what. */
export interface AuditEntryInput {
  organizationId: string;
  actorType: "user" | "api_key" | "system";
  actorId: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  requestId?: string | null;
  ip?: string | null;
  /** Before/after values and anything else worth keeping. Must not hold secrets. */
  data?: Record<string, unknown>;
}

/** Hash of the first entry's predecessor in every organization's chain. */
export const GENESIS_HASH = "0".repeat(64);

interface HashedFields {
  organizationId: string;
  seq: bigint;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  requestId: string | null;
  ip: string | null;
  data: unknown;
  createdAt: Date;
}

/** sha256(prevHash + canonical JSON of the entry), hex. */
export function entryHash(prevHash: string, e: HashedFields): string {
  const canonical = canonicalize({
    organizationId: e.organizationId,
    seq: e.seq.toString(),
    actorType: e.actorType,
    actorId: e.actorId,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    requestId: e.requestId,
    ip: e.ip,
    data: e.data,
    createdAt: e.createdAt.toISOString(),
  });
  return createHash("sha256").update(prevHash).update(canonical).digest("hex");
}

/**
 * Takes the organization's chain lock until the transaction ends (re-entrant: `writeAudit` takes
 * it again). Under it, the chain's head cannot move: what a transaction reads of the log before
 * appending is exactly what precedes its entry.
 */
export async function lockAuditChain(tx: Db, organizationId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`audit:${organizationId}`}, 0))`;
}

/**
 * Appends an entry to the organization's chain. Call it inside the transaction of the change
 * it records: a transaction-scoped advisory lock serializes writers of one organization, so
 * the chain never forks, and a rolled-back change leaves no entry behind.
 */
export async function writeAudit(tx: Db, input: AuditEntryInput): Promise<void> {
  await lockAuditChain(tx, input.organizationId);
  // Raw statements: every audited change runs these two, and Prisma's model calls spend
  // 2–4 ms of CPU each compiling them (docs/ARCHITECTURE.md, Chat).
  const [last] = await tx.$queryRaw<Array<{ seq: bigint; hash: string }>>`
    SELECT seq, hash FROM "AuditLog" WHERE "organizationId" = ${input.organizationId}::uuid ORDER BY seq DESC LIMIT 1`;
  const fields: HashedFields = {
    organizationId: input.organizationId,
    seq: (last?.seq ?? 0n) + 1n,
    actorType: input.actorType,
    actorId: input.actorId,
    action: input.action,
    targetType: input.targetType ?? null,
    targetId: input.targetId ?? null,
    requestId: input.requestId ?? null,
    ip: input.ip ?? null,
    // What PostgreSQL will give back (jsonb drops undefined, keeps JSON values).
    data: JSON.parse(JSON.stringify(input.data ?? {})),
    createdAt: new Date(),
  };
  const prevHash = last?.hash ?? GENESIS_HASH;
  await tx.$executeRaw`
    INSERT INTO "AuditLog" (id, "organizationId", seq, "actorType", "actorId", action, "targetType", "targetId",
                            "requestId", ip, data, "prevHash", hash, "createdAt")
    VALUES (${randomUUID()}::uuid, ${fields.organizationId}::uuid, ${fields.seq}, ${fields.actorType}, ${fields.actorId},
            ${fields.action}, ${fields.targetType}, ${fields.targetId}, ${fields.requestId}, ${fields.ip},
            ${JSON.stringify(fields.data)}::jsonb, ${prevHash}, ${entryHash(prevHash, fields)}, ${fields.createdAt})`;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** First entry whose stored hash or link does not match, if any. */
  firstBadSeq: string | null;
  reason: string | null;
}

/** Recomputes an organization's chain from the start and reports the first broken link. */
export async function verifyAuditChain(db: Db, organizationId: string): Promise<AuditVerification> {
  return (await walkAuditChain(db, organizationId)).result;
}

/** The last entry of a chain as far as it was walked (seq 0 and the genesis hash when empty). */
export interface ChainPoint {
  seq: bigint;
  hash: string;
}

/**
 * Recomputes an organization's chain from the entry after `from` (the start, by default) to
 * the head, and reports the first broken link and the last entry reached.
 */
export async function walkAuditChain(
  db: Db,
  organizationId: string,
  from: ChainPoint = { seq: 0n, hash: GENESIS_HASH },
): Promise<{ result: AuditVerification; head: ChainPoint }> {
  let prevHash = from.hash;
  let expectedSeq = from.seq + 1n;
  let entries = 0;
  let cursor = from.seq;
  for (;;) {
    const rows = await db.auditLog.findMany({
      where: { organizationId, seq: { gt: cursor } },
      orderBy: { seq: "asc" },
      take: 1000,
    });
    if (rows.length === 0) break;
    for (const row of rows) {
      const bad = (reason: string) => ({
        result: { ok: false, entries, firstBadSeq: row.seq.toString(), reason },
        head: { seq: expectedSeq - 1n, hash: prevHash },
      });
      if (row.seq !== expectedSeq) return bad(`expected entry ${expectedSeq}, found ${row.seq}`);
      if (row.prevHash !== prevHash) return bad("link to the previous entry is broken");
      if (entryHash(prevHash, row) !== row.hash) return bad("entry content does not match its hash");
      prevHash = row.hash;
      expectedSeq += 1n;
      entries += 1;
    }
    cursor = rows[rows.length - 1]?.seq ?? cursor;
  }
  return {
    result: { ok: true, entries, firstBadSeq: null, reason: null },
    head: { seq: expectedSeq - 1n, hash: prevHash },
  };
}

import { randomUUID } from "node:crypto";
import { entryHash, GENESIS_HASH } from "../../packages/core/src/audit/audit";
import { asDatabaseOwner } from "./own-services";

export interface BulkEntry {
  actorId?: string;
  action: string;
  targetId?: string;
  data?: Record<string, unknown>;
  createdAt?: Date;
}

/**
 * Appends `count` entries (from `make`) to the organization's chain with valid links and hashes,
 * in batches of multi-row INSERTs: what `writeAudit` would write, without a transaction each.
 */
export async function appendEntries(
  connectionString: string,
  organizationId: string,
  count: number,
  make: (i: number) => BulkEntry,
): Promise<void> {
  await asDatabaseOwner(async (c) => {
    const head = await c.query<{ seq: string; hash: string }>(
      `SELECT seq::text, hash FROM "AuditLog" WHERE "organizationId" = $1 ORDER BY seq DESC LIMIT 1`,
      [organizationId],
    );
    let seq = BigInt(head.rows[0]?.seq ?? "0");
    let prevHash = head.rows[0]?.hash ?? GENESIS_HASH;
    const BATCH = 5_000;
    for (let start = 0; start < count; start += BATCH) {
      const cols: Record<string, unknown[]> = {
        id: [],
        seq: [],
        actorId: [],
        action: [],
        targetId: [],
        data: [],
        prevHash: [],
        hash: [],
        createdAt: [],
      };
      for (let i = start; i < Math.min(count, start + BATCH); i++) {
        const e = make(i);
        seq += 1n;
        const fields = {
          organizationId,
          seq,
          actorType: "user",
          actorId: e.actorId ?? null,
          action: e.action,
          targetType: "bulk",
          targetId: e.targetId ?? null,
          requestId: null,
          ip: null,
          data: e.data ?? {},
          createdAt: e.createdAt ?? new Date(),
        };
        const hash = entryHash(prevHash, fields);
        cols.id?.push(randomUUID());
        cols.seq?.push(seq.toString());
        cols.actorId?.push(fields.actorId);
        cols.action?.push(fields.action);
        cols.targetId?.push(fields.targetId);
        cols.data?.push(JSON.stringify(fields.data));
        cols.prevHash?.push(prevHash);
        cols.hash?.push(hash);
        cols.createdAt?.push(fields.createdAt.toISOString());
        prevHash = hash;
      }
      await c.query(
        `INSERT INTO "AuditLog" (id, "organizationId", seq, "actorType", "actorId", action, "targetType", "targetId", data, "prevHash", hash, "createdAt")
         SELECT id::uuid, $1, seq::bigint, 'user', "actorId", action, 'bulk', "targetId", data::jsonb, "prevHash", hash, "createdAt"::timestamptz
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
           AS t(id, seq, "actorId", action, "targetId", data, "prevHash", hash, "createdAt")`,
        [
          organizationId,
          cols.id,
          cols.seq,
          cols.actorId,
          cols.action,
          cols.targetId,
          cols.data,
          cols.prevHash,
          cols.hash,
          cols.createdAt,
        ],
      );
    }
  }, connectionString);
}

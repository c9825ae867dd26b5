import type { Db } from "../db/prisma";
import { type EventType, emitEvent } from "../events/outbox";
import { writeAudit } from "./audit";

/** Who made a change, as the audit log records it. */
export interface ChangeSource {
  actorType: "user" | "api_key" | "system";
  actorId: string | null;
  requestId: string | null;
  ip: string | null;
}

/** Changes made by the platform itself (the CLI, bootstrap, jobs), not by a caller. */
export const SYSTEM_SOURCE: ChangeSource = { actorType: "system", actorId: null, requestId: null, ip: null };

export interface Change {
  organizationId: string;
  /** Both the audit action and the outbox event type. */
  type: EventType;
  targetType: string;
  targetId: string;
  /** Audit data (before/after). Never secrets. */
  data: Record<string, unknown>;
  /** Event payload. Never secrets. */
  payload: Record<string, unknown>;
}

/**
 * Writes the audit entry and the outbox event of a change. Call it inside the transaction
 * that makes the change, so all three commit together or not at all.
 */
export async function recordChange(tx: Db, source: ChangeSource, change: Change): Promise<void> {
  await writeAudit(tx, {
    organizationId: change.organizationId,
    actorType: source.actorType,
    actorId: source.actorId,
    action: change.type,
    targetType: change.targetType,
    targetId: change.targetId,
    requestId: source.requestId,
    ip: source.ip,
    data: change.data,
  });
  await emitEvent(tx, {
    organizationId: change.organizationId,
    type: change.type,
    aggregateId: change.targetId,
    payload: change.payload,
  });
}

/** Whether `err` is Prisma's unique-constraint violation (a concurrent insert won). */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "P2002";
}

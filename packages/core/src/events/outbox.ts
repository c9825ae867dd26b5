import { randomUUID } from "node:crypto";
import type { Db } from "../db/prisma";
import { currentTraceCarrier, TRACE_CARRIER_KEY } from "../tracing/trace-context"; // traces (issue 10)

/** Event types written to the outbox. */
export type EventType =
  | "server.registered"
  | "server.updated"
  | "server.deregistered"
  | "capability.updated"
  | "chat.session.created"
  | "chat.session.deleted"
  | "chat.message.sent"
  | "chat.turn.cancelled"
  | "chat.tool_call.approved"
  | "chat.tool_call.denied"
  | "organization.created"
  | "organization.updated"
  | "api_key.created"
  | "api_key.revoked"
  | "member.added"
  | "member.updated"
  | "member.removed"
  | "capability.added"
  | "capability.changed"
  | "capability.removed"
  | "server.health_changed"
  | "discovery.completed"
  | "discovery.failed"
  | "budget.crossed"
  | "budget.updated"
  // --- webhooks (issue 10) ---
  | "webhook.created"
  | "webhook.updated"
  | "webhook.deleted"
  | "webhook.secret_rotated"
  | "webhook.disabled"
  | "webhook.test"
  // --- end webhooks ---
  // ---- access policies (issue 9) ----
  | "policy.created"
  | "policy.updated"
  | "policy.deleted";

/** The Redis pub/sub channel the outbox relay publishes every event to, named per database by `redisChannel`. */
export const EVENTS_CHANNEL = "sprintconnect:events";

/** An event as published on EVENTS_CHANNEL (JSON). Delivery is at least once: dedupe on `id`. */
export interface PublishedEvent {
  id: string;
  organizationId: string;
  type: EventType;
  aggregateId: string | null;
  payload: Record<string, unknown>;
  createdAt: string;
}

export interface OutboxEvent {
  organizationId: string;
  type: EventType;
  aggregateId?: string;
  payload: Record<string, unknown>;
}

/**
 * Records an event in the transactional outbox. Call it inside the transaction of the change:
 * the change and its event commit together or not at all. The worker's relay publishes it.
 */
export async function emitEvent(tx: Db, event: OutboxEvent): Promise<{ id: string }> {
  const trace = currentTraceCarrier(); // traces (issue 10)
  const id = randomUUID();
  // A raw statement: every audited change writes one, and Prisma's model call spends 2–4 ms of
  // CPU compiling it (docs/ARCHITECTURE.md, Chat). The time is the application's, as Prisma's was.
  await tx.$executeRaw`
    INSERT INTO "Event" (id, "organizationId", type, "aggregateId", payload, "createdAt")
    VALUES (${id}::uuid, ${event.organizationId}::uuid, ${event.type}, ${event.aggregateId ?? null},
            ${JSON.stringify(withTrace(event.payload, trace))}::jsonb, ${new Date()})`;
  return { id };
}

/** Records many events with one INSERT (a discovery can change hundreds of capabilities). */
export async function emitEvents(tx: Db, events: OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  const trace = currentTraceCarrier(); // traces (issue 10)
  await tx.event.createMany({
    data: events.map((event) => ({
      organizationId: event.organizationId,
      type: event.type,
      aggregateId: event.aggregateId ?? null,
      payload: withTrace(JSON.parse(JSON.stringify(event.payload)), trace),
    })),
  });
}

// --- traces (issue 10) ---
/**
 * The payload with the trace context of the change that emitted it, under `_trace`, when a
 * trace is active: the relay continues that trace when it publishes the event (and queues its
 * webhook deliveries), and strips the key, so subscribers and webhook receivers never see it.
 * Rows without it (tracing off, older events) are published as before.
 */
function withTrace<T extends object>(payload: T, trace: ReturnType<typeof currentTraceCarrier>): T {
  return trace ? { ...payload, [TRACE_CARRIER_KEY]: trace } : payload;
}

/** Splits a stored event payload into what is published and the trace context it carried. */
export function takeEventTrace(payload: Record<string, unknown>): {
  payload: Record<string, unknown>;
  trace: unknown;
} {
  if (!(TRACE_CARRIER_KEY in payload)) return { payload, trace: undefined };
  const { [TRACE_CARRIER_KEY]: trace, ...rest } = payload;
  return { payload: rest, trace };
}
// --- end traces ---

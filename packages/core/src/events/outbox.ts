import type { Db } from "../db/prisma";

/** Event types written to the outbox. */
export type EventType =
  | "server.registered"
  | "server.updated"
  | "server.deregistered"
  | "capability.updated"
  | "chat.session.created"
  | "chat.session.deleted"
  | "organization.created"
  | "api_key.created"
  | "api_key.revoked"
  | "member.added"
  | "member.updated"
  | "member.removed";

/**
 * Records an event in the transactional outbox. Call it inside the transaction of the change:
 * the change and its event commit together or not at all. The worker's relay publishes it.
 */
export async function emitEvent(
  tx: Db,
  event: { organizationId: string; type: EventType; aggregateId?: string; payload: Record<string, unknown> },
): Promise<void> {
  await tx.event.create({
    data: {
      organizationId: event.organizationId,
      type: event.type,
      aggregateId: event.aggregateId ?? null,
      payload: JSON.parse(JSON.stringify(event.payload)),
    },
  });
}

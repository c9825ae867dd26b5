import { type Db, type PublishedEvent, WEBHOOK_TEST_EVENT, type WebhookMessage } from "@sprintconnect/core";

/** A delivery that is due now and must be queued once its transaction commits. */
export interface DueDelivery {
  deliveryId: string;
  organizationId: string;
  /** The event it delivers (traces, issue 10: its deliveries continue the event's trace). */
  eventId?: string;
}

/**
 * Creates one delivery per enabled webhook that subscribes to each event (a `webhook.test`
 * event goes only to the webhook it names), inside the relay's transaction. The unique
 * (webhookId, eventId) constraint makes it idempotent: an event the relay publishes again
 * after a crash creates no second delivery. Returns the deliveries it created.
 */
export async function createDeliveries(tx: Db, events: readonly PublishedEvent[]): Promise<DueDelivery[]> {
  if (events.length === 0) return [];
  const organizationIds = [...new Set(events.map((e) => e.organizationId))];
  // KEY SHARE: a webhook deleted meanwhile waits for this transaction, never breaks its inserts.
  const webhooks = await tx.$queryRaw<Array<{ id: string; organizationId: string; eventTypes: string[] }>>`
    SELECT id, "organizationId", "eventTypes" FROM "Webhook"
     WHERE "organizationId" = ANY(${organizationIds}::uuid[]) AND enabled
       FOR KEY SHARE`;
  if (webhooks.length === 0) return [];
  const columns = {
    org: [] as string[],
    webhook: [] as string[],
    event: [] as string[],
    type: [] as string[],
    body: [] as string[],
  };
  for (const event of events) {
    for (const webhook of webhooks) {
      if (webhook.organizationId !== event.organizationId) continue;
      const wanted =
        event.type === WEBHOOK_TEST_EVENT ? event.aggregateId === webhook.id : webhook.eventTypes.includes(event.type);
      if (!wanted) continue;
      const message: WebhookMessage = {
        id: event.id,
        type: event.type,
        timestamp: event.createdAt,
        organizationId: event.organizationId,
        data: event.payload,
      };
      columns.org.push(event.organizationId);
      columns.webhook.push(webhook.id);
      columns.event.push(event.id);
      columns.type.push(event.type);
      columns.body.push(JSON.stringify(message));
    }
  }
  if (columns.event.length === 0) return [];
  const created = await tx.$queryRaw<Array<{ id: string; organizationId: string; eventId: string }>>`
    INSERT INTO "WebhookDelivery" (id, "organizationId", "webhookId", "eventId", "eventType", body, "updatedAt")
    SELECT gen_random_uuid(), x.org, x.webhook, x.event, x.type, x.body, now()
      FROM unnest(${columns.org}::uuid[], ${columns.webhook}::uuid[], ${columns.event}::uuid[],
                  ${columns.type}::text[], ${columns.body}::text[]) AS x(org, webhook, event, type, body)
    ON CONFLICT ("webhookId", "eventId") DO NOTHING
    RETURNING id, "organizationId", "eventId"`;
  return created.map((row) => ({ deliveryId: row.id, organizationId: row.organizationId, eventId: row.eventId }));
}

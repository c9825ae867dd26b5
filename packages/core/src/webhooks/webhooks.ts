import { randomBytes } from "node:crypto";
import type { EventType } from "../events/outbox";

/**
 * The event types a webhook may subscribe to: the one list that creation and updates validate
 * against. `webhook.test` is not in it: it goes only to the webhook it was sent to.
 */
export const WEBHOOK_EVENT_TYPES = [
  "server.registered",
  "server.updated",
  "server.deregistered",
  "server.health_changed",
  "capability.added",
  "capability.changed",
  "capability.removed",
  "capability.updated",
  "discovery.completed",
  "discovery.failed",
  "chat.session.created",
  "chat.session.deleted",
  "chat.message.sent",
  "chat.turn.cancelled",
  "chat.tool_call.approved",
  "chat.tool_call.denied",
  "webhook.disabled",
  "budget.crossed",
] as const satisfies readonly EventType[];
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The event `POST /v1/webhooks/{id}/test` sends, to that webhook only. */
export const WEBHOOK_TEST_EVENT: EventType = "webhook.test";

/** Where a webhook's signing secret is kept in the SecretStore. */
export function webhookSecretRef(webhookId: string): string {
  return `secret/sprintconnect/webhooks/${webhookId}/signing-secret`;
}

/** A new signing secret, as Standard Webhooks writes them: `whsec_` and 32 random bytes in base64. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** The JSON body of a delivery (Standard Webhooks' recommended `type`, `timestamp`, `data`). */
export interface WebhookMessage {
  /** The outbox event id: the same event delivered to two webhooks has the same id. */
  id: string;
  type: string;
  /** When the event happened (ISO 8601). */
  timestamp: string;
  organizationId: string;
  data: Record<string, unknown>;
}

/**
 * Delay before attempt `attempt + 1` after `attempt` failed: `baseMs · 2^(attempt-1)`, capped
 * at `maxMs`, with "equal jitter" (half fixed, half random) so that a receiver that comes
 * back is not hit by every retry at the same instant. `random` is for tests.
 */
export function webhookRetryDelayMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

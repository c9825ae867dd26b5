import {
  AppError,
  type Logger,
  type PrismaClient,
  recordChange,
  type SecretStore,
  SYSTEM_SOURCE,
  webhookRetryDelayMs,
  webhookSecretRef,
} from "@sprintconnect/core";
import type { EgressFetch } from "@sprintconnect/mcp";
import { Webhook as Signer } from "standardwebhooks";

/** Characters of a response body kept in the delivery log. */
const LOGGED_RESPONSE_CHARS = 1024;

export interface WebhookDelivererOptions {
  db: PrismaClient;
  secrets: SecretStore;
  /** The egress guard's fetch: DNS pinned, private addresses refused, time and size limits. */
  fetch: EgressFetch;
  logger: Logger;
  /** WEBHOOK_TIMEOUT_MS: the guard enforces it; the lease covers twice that. */
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxConsecutiveFailures: number;
  /** Queues attempt `attempt` of a delivery to run at `at` (a delayed job). */
  schedule(next: { deliveryId: string; organizationId: string; attempt: number; at: Date }): Promise<void>;
}

interface Claimed {
  id: string;
  webhookId: string;
  body: string;
  attempts: number;
  url: string;
  attemptId: string;
}

interface Outcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
  durationMs: number;
}

/**
 * Attempts webhook deliveries: claims the delivery row (a lease, so one worker at a time),
 * signs the stored body per Standard Webhooks with the webhook's current secret (the
 * `webhook-id` is the delivery id, the same on every attempt), POSTs it through the egress
 * guard, and records the attempt. A failure schedules the next attempt with exponential
 * backoff and jitter, or gives the delivery up after WEBHOOK_MAX_ATTEMPTS; a run of
 * WEBHOOK_MAX_CONSECUTIVE_FAILURES disables the webhook with a `webhook.disabled` event.
 */
export class WebhookDeliverer {
  constructor(private readonly options: WebhookDelivererOptions) {}

  /** One attempt; does nothing when the delivery is not due, leased, done, or its webhook disabled. */
  async attempt(payload: { deliveryId: string; organizationId: string }): Promise<void> {
    const claimed = await this.claim(payload.deliveryId, payload.organizationId);
    if (!claimed) return;
    const log = this.options.logger.child({
      deliveryId: claimed.id,
      webhookId: claimed.webhookId,
      attempt: claimed.attempts,
    });
    const outcome = await this.send(claimed);
    const next = await this.record(payload.organizationId, claimed, outcome);
    if (outcome.ok) log.debug({ statusCode: outcome.statusCode }, "webhook delivered");
    else log.info({ statusCode: outcome.statusCode, error: outcome.error, next }, "webhook attempt failed");
    if (next) {
      await this.options.schedule({
        deliveryId: claimed.id,
        organizationId: payload.organizationId,
        attempt: claimed.attempts + 1,
        at: next,
      });
    }
  }

  private claim(deliveryId: string, organizationId: string): Promise<Claimed | null> {
    const leaseMs = 2 * this.options.timeoutMs + 1_000;
    return this.options.db.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<Array<Omit<Claimed, "attemptId">>>`
        UPDATE "WebhookDelivery" d
           SET "leaseUntil" = now() + ${leaseMs} * interval '1 millisecond', attempts = d.attempts + 1,
               "lastAttemptAt" = now(), "updatedAt" = now()
          FROM "Webhook" w
         WHERE d.id = ${deliveryId}::uuid AND d."organizationId" = ${organizationId}::uuid
           AND w.id = d."webhookId" AND w.enabled
           AND d.status = 'pending' AND d."nextAttemptAt" <= now()
           AND (d."leaseUntil" IS NULL OR d."leaseUntil" < now())
        RETURNING d.id, d."webhookId", d.body, d.attempts, w.url`;
      if (!row) return null;
      // An attempt still `pending` is one whose worker died before recording it.
      await tx.$executeRaw`
        UPDATE "WebhookDeliveryAttempt" SET outcome = 'interrupted', error = 'the worker stopped during this attempt'
         WHERE "deliveryId" = ${row.id}::uuid AND outcome = 'pending'`;
      const attempt = await tx.webhookDeliveryAttempt.create({
        data: { organizationId, deliveryId: row.id, attempt: row.attempts, outcome: "pending", durationMs: 0 },
        select: { id: true },
      });
      return { ...row, attemptId: attempt.id };
    });
  }

  private async send(claimed: Claimed): Promise<Outcome> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const secret = await this.options.secrets.get(webhookSecretRef(claimed.webhookId));
    if (!secret) {
      return {
        ok: false,
        statusCode: null,
        error: "no_secret: the signing secret is missing",
        responseBody: null,
        durationMs: 0,
      };
    }
    const timestamp = new Date();
    const signature = new Signer(secret).sign(claimed.id, timestamp, claimed.body);
    try {
      const response = await this.options.fetch(claimed.url, {
        method: "POST",
        body: claimed.body,
        // A redirect is an answer, not a new destination: it counts as a failure.
        redirect: "manual",
        headers: {
          "content-type": "application/json",
          "user-agent": "SprintConnect-Webhooks/1",
          "webhook-id": claimed.id,
          "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
          "webhook-signature": signature,
        },
      });
      const text = await response.text();
      const ok = response.status >= 200 && response.status < 300;
      return {
        ok,
        statusCode: response.status,
        error: ok ? null : `http_status: the endpoint answered ${response.status}`,
        responseBody: text.slice(0, LOGGED_RESPONSE_CHARS) || null,
        durationMs: elapsed(),
      };
    } catch (err) {
      return { ok: false, statusCode: null, error: describeFailure(err), responseBody: null, durationMs: elapsed() };
    }
  }

  /** Records the attempt; returns when the next attempt is due, or null when there is none. */
  private record(organizationId: string, claimed: Claimed, outcome: Outcome): Promise<Date | null> {
    const { db, maxAttempts, maxConsecutiveFailures } = this.options;
    return db.$transaction(async (tx) => {
      await tx.$executeRaw`
        UPDATE "WebhookDeliveryAttempt"
           SET outcome = ${outcome.ok ? "succeeded" : "failed"}, "statusCode" = ${outcome.statusCode},
               error = ${outcome.error}, "durationMs" = ${outcome.durationMs}, "responseBody" = ${outcome.responseBody}
         WHERE id = ${claimed.attemptId}::uuid`;
      if (outcome.ok) {
        await tx.$executeRaw`
          UPDATE "WebhookDelivery" SET status = 'succeeded', "leaseUntil" = NULL, "lastStatusCode" = ${outcome.statusCode},
                 "lastError" = NULL, "updatedAt" = now()
           WHERE id = ${claimed.id}::uuid`;
        await tx.$executeRaw`UPDATE "Webhook" SET "consecutiveFailures" = 0 WHERE id = ${claimed.webhookId}::uuid`;
        return null;
      }
      const [webhook] = await tx.$queryRaw<Array<{ consecutiveFailures: number; enabled: boolean; url: string }>>`
        UPDATE "Webhook" SET "consecutiveFailures" = "consecutiveFailures" + 1
         WHERE id = ${claimed.webhookId}::uuid
        RETURNING "consecutiveFailures", enabled, url`;
      const givenUp = claimed.attempts >= maxAttempts;
      const next = givenUp
        ? null
        : new Date(
            Date.now() + webhookRetryDelayMs(claimed.attempts, this.options.retryBaseMs, this.options.retryMaxMs),
          );
      await tx.$executeRaw`
        UPDATE "WebhookDelivery"
           SET status = ${givenUp ? "failed" : "pending"}, "leaseUntil" = NULL,
               "nextAttemptAt" = COALESCE(${next}::timestamptz, "nextAttemptAt"),
               "lastStatusCode" = ${outcome.statusCode}, "lastError" = ${outcome.error}, "updatedAt" = now()
         WHERE id = ${claimed.id}::uuid`;
      if (webhook?.enabled && webhook.consecutiveFailures >= maxConsecutiveFailures) {
        const reason = `${webhook.consecutiveFailures} failed attempts in a row; the last: ${outcome.error}`;
        await tx.$executeRaw`
          UPDATE "Webhook" SET enabled = false, "disabledAt" = now(), "disabledReason" = ${reason}, "updatedAt" = now()
           WHERE id = ${claimed.webhookId}::uuid`;
        await recordChange(tx, SYSTEM_SOURCE, {
          organizationId,
          type: "webhook.disabled",
          targetType: "webhook",
          targetId: claimed.webhookId,
          data: { reason, consecutiveFailures: webhook.consecutiveFailures },
          payload: { webhookId: claimed.webhookId, reason, consecutiveFailures: webhook.consecutiveFailures },
        });
        // Its pending deliveries wait; enabling it again lets the sweeper queue them.
        return null;
      }
      return webhook ? next : null;
    });
  }
}

/** A failed attempt's `error`: a stable kind, then what happened (never the secret or the signature). */
function describeFailure(err: unknown): string {
  if (err instanceof AppError) {
    const reason = (err.extensions.details as { reason?: string } | undefined)?.reason;
    return `${reason === "response_too_large" ? "response_too_large" : "egress_denied"}: ${err.message}`;
  }
  if (err instanceof DOMException && err.name === "TimeoutError") return `timeout: ${err.message}`;
  const cause = (err as { cause?: { code?: string } }).cause?.code;
  return `network: ${(err as Error).message}${cause ? ` (${cause})` : ""}`;
}

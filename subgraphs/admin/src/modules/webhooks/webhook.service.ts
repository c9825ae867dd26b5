import {
  AppError,
  badRequest,
  checkInput,
  type Db,
  ErrorCode,
  type EventType,
  emitEvent,
  generateWebhookSecret,
  notFound,
  type Principal,
  type PrismaClient,
  pageSize,
  precheckEgress,
  recordChange,
  type SecretStore,
  toPage,
  WEBHOOK_TEST_EVENT,
  webhookSecretRef,
  withSecretTransaction,
} from "@sprintconnect/core";
import { type Actor, isUuid, sourceOf } from "@sprintconnect/subgraph-kit";
import type { CreateWebhookInput, UpdateWebhookInput } from "./webhook.input";
import type { WebhookDeliveryRow, WebhookRepository, WebhookRow } from "./webhook.repository";
import { createWebhookRules, deliveryStatusRules, redactedUrl, updateWebhookRules } from "./webhook.rules";
import type {
  Webhook,
  WebhookConnection,
  WebhookDelivery,
  WebhookDeliveryConnection,
  WebhookTest,
  WebhookWithSecret,
} from "./webhook.type";

/** What webhooks need beyond the database. */
export interface WebhookDeps {
  /** Checks a URL against ALLOWED_EGRESS_HOSTS (the worker checks again, pinned, at delivery). */
  egress: { check(url: string): Promise<unknown> };
  /** Where signing secrets are kept (encrypted); only the SecretStore interface is used. */
  secrets: SecretStore;
  /** Queues an attempt of a delivery now (manual redelivery), under a job id of its own. */
  enqueueDelivery(delivery: { deliveryId: string; organizationId: string; attempt: number }): Promise<void>;
}

/** Webhook rules: validation, egress check, secrets shown once, audit and events. */
export class WebhookService {
  constructor(
    private readonly db: PrismaClient,
    private readonly webhooks: WebhookRepository,
    private readonly deps: WebhookDeps,
  ) {}

  async list(principal: Principal, limit?: number | null, cursor?: string | null): Promise<WebhookConnection> {
    const take = pageSize(limit);
    const page = toPage(await this.webhooks.list(principal.organizationId, take, cursor), take);
    return { items: page.items.map(toWebhook), nextCursor: page.nextCursor };
  }

  async get(principal: Principal, id: string): Promise<Webhook> {
    return toWebhook(await this.find(principal.organizationId, id));
  }

  async create(actor: Actor, input: CreateWebhookInput): Promise<WebhookWithSecret> {
    const data = checkInput(createWebhookRules, input);
    await this.checkEgress(data.url);
    const { organizationId } = actor.principal;
    const secret = generateWebhookSecret();
    // The secret and its row commit together, whichever store keeps secrets (Vault: around the transaction).
    const row = await withSecretTransaction(this.db, this.deps.secrets, async (tx, secrets) => {
      const created = await this.webhooks.create(tx, {
        organizationId,
        url: data.url,
        description: data.description ?? "",
        eventTypes: data.eventTypes,
      });
      await secrets.put(webhookSecretRef(created.id), secret, tx);
      await this.record(tx, actor, "webhook.created", created, { after: auditView(created) });
      return created;
    });
    return { webhook: toWebhook(row), secret };
  }

  async update(actor: Actor, id: string, input: UpdateWebhookInput): Promise<Webhook> {
    const data = checkInput(updateWebhookRules, input);
    if (data.url) await this.checkEgress(data.url);
    const { organizationId } = actor.principal;
    const row = await this.db.$transaction(async (tx) => {
      const before = await this.find(organizationId, id, tx);
      const resume = data.enabled === true;
      const after = await this.webhooks.update(tx, organizationId, before.id, {
        ...(data.url ? { url: data.url } : {}),
        ...(data.eventTypes ? { eventTypes: data.eventTypes } : {}),
        ...(data.description !== undefined && data.description !== null ? { description: data.description } : {}),
        ...(data.enabled === false ? { enabled: false } : {}),
        // Enabling clears a disable after failures: the run of failures starts again from zero.
        ...(resume ? { enabled: true, disabledAt: null, disabledReason: null, consecutiveFailures: 0 } : {}),
      });
      await this.record(tx, actor, "webhook.updated", after, { before: auditView(before), after: auditView(after) });
      return after;
    });
    return toWebhook(row);
  }

  async delete(actor: Actor, id: string): Promise<Webhook> {
    const { organizationId } = actor.principal;
    const row = await withSecretTransaction(this.db, this.deps.secrets, async (tx, secrets) => {
      const before = await this.find(organizationId, id, tx);
      await this.webhooks.delete(tx, organizationId, before.id);
      await secrets.delete(webhookSecretRef(before.id), tx);
      await this.record(tx, actor, "webhook.deleted", before, { before: auditView(before) });
      return before;
    });
    return toWebhook(row);
  }

  /** Replaces the signing secret; the old one signs nothing from the commit on. */
  async rotateSecret(actor: Actor, id: string): Promise<WebhookWithSecret> {
    const { organizationId } = actor.principal;
    const secret = generateWebhookSecret();
    const row = await withSecretTransaction(this.db, this.deps.secrets, async (tx, secrets) => {
      const before = await this.find(organizationId, id, tx);
      await secrets.put(webhookSecretRef(before.id), secret, tx);
      const after = await this.webhooks.update(tx, organizationId, before.id, { secretRotatedAt: new Date() });
      await this.record(tx, actor, "webhook.secret_rotated", after, { rotatedAt: after.secretRotatedAt });
      return after;
    });
    return { webhook: toWebhook(row), secret };
  }

  /** Emits a `webhook.test` event, which the relay delivers to this webhook only. */
  async test(actor: Actor, id: string): Promise<WebhookTest> {
    const { organizationId } = actor.principal;
    return this.db.$transaction(async (tx) => {
      const webhook = await this.find(organizationId, id, tx);
      if (!webhook.enabled) throw conflict("The webhook is disabled; enable it before testing it");
      const event = await emitEvent(tx, {
        organizationId,
        type: WEBHOOK_TEST_EVENT,
        aggregateId: webhook.id,
        payload: { webhookId: webhook.id, message: "A test event from SprintConnect" },
      });
      return { eventId: event.id };
    });
  }

  async deliveries(
    principal: Principal,
    webhookId: string,
    status: string | null | undefined,
    limit?: number | null,
    cursor?: string | null,
  ): Promise<WebhookDeliveryConnection> {
    const take = pageSize(limit);
    const webhook = await this.find(principal.organizationId, webhookId);
    const parsed = deliveryStatusRules.safeParse(status);
    if (!parsed.success) throw badRequest("status must be pending, succeeded or failed", { field: "status" });
    const rows = await this.webhooks.deliveries(
      principal.organizationId,
      webhook.id,
      parsed.data ?? null,
      take,
      cursor,
    );
    const page = toPage(rows, take);
    return { items: page.items.map(toDelivery), nextCursor: page.nextCursor };
  }

  /** Makes a delivery due again and queues it; the same `webhook-id` is sent. */
  async redeliver(actor: Actor, webhookId: string, deliveryId: string): Promise<WebhookDelivery> {
    const { organizationId } = actor.principal;
    const webhook = await this.find(organizationId, webhookId);
    if (!webhook.enabled) throw conflict("The webhook is disabled; enable it before redelivering");
    if (!isUuid(deliveryId)) throw notFound("Webhook delivery");
    const row = await this.webhooks.redeliver(organizationId, webhook.id, deliveryId);
    if (!row) {
      if (await this.webhooks.deliveryExists(organizationId, webhook.id, deliveryId)) {
        throw conflict("The delivery is being attempted right now; try again when the attempt ends");
      }
      throw notFound("Webhook delivery");
    }
    await this.deps.enqueueDelivery({ deliveryId: row.id, organizationId, attempt: row.attempts + 1 });
    return toDelivery(row);
  }

  private async find(organizationId: string, id: string, db?: Db): Promise<WebhookRow> {
    const row = isUuid(id) ? await this.webhooks.findById(organizationId, id, db) : null;
    if (!row) throw notFound("Webhook");
    return row;
  }

  private record(tx: Db, actor: Actor, type: EventType, row: WebhookRow, data: Record<string, unknown>): Promise<void> {
    return recordChange(tx, sourceOf(actor), {
      organizationId: row.organizationId,
      type,
      targetType: "webhook",
      targetId: row.id,
      data,
      payload: { webhookId: row.id, url: redactedUrl(row.url), eventTypes: row.eventTypes, enabled: row.enabled },
    });
  }

  /** Refuses a URL the egress guard refuses; a host that does not resolve from here is accepted. */
  private checkEgress(url: string): Promise<void> {
    return precheckEgress(this.deps.egress, url);
  }
}

const conflict = (message: string) => new AppError(ErrorCode.CONFLICT, message);

/** What the audit log keeps of a webhook: never its secret, nor its URL's query. */
function auditView(row: WebhookRow): Record<string, unknown> {
  return {
    url: redactedUrl(row.url),
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
  };
}

export function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    consecutiveFailures: row.consecutiveFailures,
    disabledAt: row.disabledAt,
    disabledReason: row.disabledReason,
    secretRotatedAt: row.secretRotatedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toDelivery(row: WebhookDeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    webhookId: row.webhookId,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    attemptCount: row.attempts,
    nextAttemptAt: row.status === "pending" ? row.nextAttemptAt : null,
    lastAttemptAt: row.lastAttemptAt,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    payload: JSON.parse(row.body) as Record<string, unknown>,
    attempts: row.attemptsLog.map((a) => ({
      id: a.id,
      attempt: a.attempt,
      outcome: a.outcome,
      statusCode: a.statusCode,
      error: a.error,
      durationMs: a.durationMs,
      responseBody: a.responseBody,
      createdAt: a.createdAt,
    })),
    createdAt: row.createdAt,
  };
}

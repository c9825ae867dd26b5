import { afterCursor, type Db, type Prisma } from "@sprintconnect/core";

export type WebhookRow = Prisma.WebhookGetPayload<object>;
export type WebhookDeliveryRow = Prisma.WebhookDeliveryGetPayload<{ include: { attemptsLog: true } }>;

/** The admin subgraph's only code that reads or writes webhooks; every query is scoped by organization. */
export class WebhookRepository {
  constructor(private readonly db: Db) {}

  findById(organizationId: string, id: string, db: Db = this.db): Promise<WebhookRow | null> {
    return db.webhook.findFirst({ where: { id, organizationId } });
  }

  /** `limit + 1` webhooks after `cursor`, newest first. */
  list(organizationId: string, limit: number, cursor?: string | null): Promise<WebhookRow[]> {
    return this.db.webhook.findMany({
      where: { organizationId, AND: [afterCursor(cursor)] },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit + 1,
    });
  }

  create(
    db: Db,
    data: { organizationId: string; url: string; description: string; eventTypes: string[] },
  ): Promise<WebhookRow> {
    return db.webhook.create({ data });
  }

  update(db: Db, organizationId: string, id: string, data: Prisma.WebhookUpdateInput): Promise<WebhookRow> {
    return db.webhook.update({ where: { id, organizationId }, data });
  }

  delete(db: Db, organizationId: string, id: string): Promise<WebhookRow> {
    return db.webhook.delete({ where: { id, organizationId } });
  }

  /** `limit + 1` deliveries of a webhook after `cursor`, newest first, with their attempts. */
  deliveries(
    organizationId: string,
    webhookId: string,
    status: string | null,
    limit: number,
    cursor?: string | null,
  ): Promise<WebhookDeliveryRow[]> {
    return this.db.webhookDelivery.findMany({
      where: { organizationId, webhookId, ...(status ? { status } : {}), AND: [afterCursor(cursor)] },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: limit + 1,
      include: { attemptsLog: { orderBy: [{ attempt: "asc" }, { createdAt: "asc" }] } },
    });
  }

  /**
   * Makes a delivery due now again (manual redelivery), unless a worker is attempting it.
   * Returns it, or null when there is no such delivery or it is being attempted.
   */
  async redeliver(organizationId: string, webhookId: string, deliveryId: string): Promise<WebhookDeliveryRow | null> {
    const { count } = await this.db.webhookDelivery.updateMany({
      where: {
        id: deliveryId,
        organizationId,
        webhookId,
        OR: [{ leaseUntil: null }, { leaseUntil: { lt: new Date() } }],
      },
      data: { status: "pending", nextAttemptAt: new Date(), leaseUntil: null },
    });
    if (count === 0) return null;
    return this.db.webhookDelivery.findFirst({
      where: { id: deliveryId, organizationId },
      include: { attemptsLog: { orderBy: [{ attempt: "asc" }, { createdAt: "asc" }] } },
    });
  }

  deliveryExists(organizationId: string, webhookId: string, deliveryId: string): Promise<{ id: string } | null> {
    return this.db.webhookDelivery.findFirst({
      where: { id: deliveryId, organizationId, webhookId },
      select: { id: true },
    });
  }
}

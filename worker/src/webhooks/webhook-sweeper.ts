import type { Logger, PrismaClient } from "@sprintconnect/core";

/** A delivery that is due and not being attempted, and the number its next attempt will have. */
export interface SweptDelivery {
  deliveryId: string;
  organizationId: string;
  attempt: number;
}

/**
 * The fallback that loses no delivery: every `intervalMs` it queues the deliveries that are
 * due, not leased by a worker, and whose webhook is enabled — those whose job was never queued
 * (the relay died between its commit and queueing), whose worker died mid-attempt (its lease
 * ran out), or whose webhook was enabled again. Queueing one twice is harmless: the job id is
 * the delivery and attempt, and an attempt claims the row before it sends.
 */
export class WebhookSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly db: PrismaClient,
    private readonly enqueue: (deliveries: SweptDelivery[]) => Promise<void>,
    private readonly logger: Logger,
    private readonly options: { intervalMs: number; batchSize?: number },
  ) {}

  /** Queues one batch of due deliveries; returns how many. */
  async sweep(): Promise<number> {
    const rows = await this.db.$queryRaw<Array<{ id: string; organizationId: string; attempts: number }>>`
      SELECT d.id, d."organizationId", d.attempts FROM "WebhookDelivery" d
        JOIN "Webhook" w ON w.id = d."webhookId"
       WHERE d.status = 'pending' AND d."nextAttemptAt" <= now()
         AND (d."leaseUntil" IS NULL OR d."leaseUntil" < now()) AND w.enabled
       ORDER BY d."nextAttemptAt" LIMIT ${this.options.batchSize ?? 500}`;
    if (rows.length > 0) {
      await this.enqueue(
        rows.map((r) => ({ deliveryId: r.id, organizationId: r.organizationId, attempt: r.attempts + 1 })),
      );
    }
    return rows.length;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .then(() => undefined)
        .catch((err) => this.logger.warn({ err }, "webhook sweep failed; retrying at the next interval"))
        .finally(() => {
          this.running = null;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}

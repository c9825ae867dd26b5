import { EVENTS_CHANNEL, type Logger, type PrismaClient, type PublishedEvent, type Redis } from "@sprintconnect/core";

/**
 * Publishes outbox events to Redis pub/sub and marks them published. Rows are claimed with
 * `FOR UPDATE SKIP LOCKED`, so several relays share the work; an event is marked only after
 * Redis accepted it, so a crash between the two republishes it (at least once — consumers
 * dedupe on the event id) and never loses it.
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly db: PrismaClient,
    private readonly redis: Redis,
    private readonly logger: Logger,
    private readonly options: { pollIntervalMs: number; batchSize?: number },
  ) {}

  /** Publishes one batch; returns how many events it published. */
  async publishBatch(): Promise<number> {
    const batch = this.options.batchSize ?? 500;
    return this.db.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<
        Array<{
          id: string;
          organizationId: string;
          type: string;
          aggregateId: string | null;
          payload: unknown;
          createdAt: Date;
        }>
      >`SELECT id, "organizationId", type, "aggregateId", payload, "createdAt"
          FROM "Event" WHERE "publishedAt" IS NULL
         ORDER BY "createdAt", id LIMIT ${batch} FOR UPDATE SKIP LOCKED`;
      if (rows.length === 0) return 0;
      const pipeline = this.redis.pipeline();
      for (const row of rows) {
        const event: PublishedEvent = {
          id: row.id,
          organizationId: row.organizationId,
          type: row.type as PublishedEvent["type"],
          aggregateId: row.aggregateId,
          payload: row.payload as Record<string, unknown>,
          createdAt: row.createdAt.toISOString(),
        };
        pipeline.publish(EVENTS_CHANNEL, JSON.stringify(event));
      }
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err);
      if (failed) throw failed[0];
      await tx.$executeRaw`UPDATE "Event" SET "publishedAt" = now() WHERE id = ANY(${rows.map((r) => r.id)}::uuid[])`;
      return rows.length;
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        let published = 0;
        try {
          published = await this.publishBatch();
        } catch (err) {
          this.logger.error({ err }, "outbox relay batch failed; retrying");
        }
        if (published === 0 && this.running) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.options.pollIntervalMs);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wake = null;
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }
}

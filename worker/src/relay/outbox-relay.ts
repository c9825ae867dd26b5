import {
  asTraceCarrier,
  type Db,
  EVENTS_CHANNEL,
  type Logger,
  type PrismaClient,
  type PublishedEvent,
  type Redis,
  redisChannel,
  type TraceCarrier,
  takeEventTrace,
  tracingEnabled,
  withSpan,
} from "@sprintconnect/core";
import pg from "pg";

/** The channel the `Event_notify_outbox` trigger notifies when events commit. */
export const OUTBOX_NOTIFY_CHANNEL = "sprintconnect_outbox";
/** How long the relay waits before listening again after its connection was lost. */
const RELISTEN_DELAY_MS = 1_000;

export interface OutboxRelayOptions {
  /** How often to look for events when nothing woke the relay (the fallback sweep). */
  pollIntervalMs: number;
  batchSize?: number;
  /**
   * A connection string to LISTEN on: every commit that inserts events wakes the relay at once.
   * Without it the relay only polls.
   */
  listenUrl?: string;
  // --- webhooks (issue 10) ---
  /**
   * Webhook fan-out: `createDeliveries` runs in the batch's transaction (so a delivery exists
   * exactly when its event is marked published), `enqueue` after it commits. An enqueue that
   * fails is logged; the webhook sweeper queues those deliveries later.
   */
  webhooks?: {
    createDeliveries(
      tx: Db,
      events: PublishedEvent[],
    ): Promise<Array<{ deliveryId: string; organizationId: string; eventId?: string }>>;
    enqueue(deliveries: Array<{ deliveryId: string; organizationId: string }>): Promise<void>;
  };
  // --- end webhooks ---
}

/**
 * Publishes outbox events to Redis pub/sub and marks them published. Rows are claimed with
 * `FOR UPDATE SKIP LOCKED`, so several relays share the work; an event is marked only after
 * Redis accepted it, so a crash between the two republishes it (at least once — consumers
 * dedupe on the event id) and never loses it.
 *
 * When it is idle the relay waits for a notification on {@link OUTBOX_NOTIFY_CHANNEL}, which a
 * trigger sends on every commit that inserts events (every relay hears it; SKIP LOCKED splits
 * the rows). A notification that arrives while a batch runs makes the relay look again at
 * once. It sweeps every `pollIntervalMs` as a fallback and whenever it (re)starts listening,
 * so events committed while it was down or not listening are published too.
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** Set by a notification; the loop looks again instead of sleeping. */
  private pending = false;
  private listener: pg.Client | null = null;
  private relisten: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: PrismaClient,
    private readonly redis: Redis,
    private readonly logger: Logger,
    private readonly options: OutboxRelayOptions,
  ) {}

  /** Whether the relay currently hears commit notifications. */
  get listening(): boolean {
    return this.listener !== null;
  }

  /** Publishes one batch; returns how many events it published. */
  async publishBatch(): Promise<number> {
    const batch = this.options.batchSize ?? 500;
    const webhooks = this.options.webhooks;
    const traces = new Map<string, { carrier: TraceCarrier; type: string }>(); // traces (issue 10)
    const { published, deliveries } = await this.db.$transaction(async (tx) => {
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
      if (rows.length === 0) return { published: 0, deliveries: [] };
      const events = rows.map((row): PublishedEvent => {
        // traces (issue 10): the trace context rides in the stored payload, never in what is published
        const { payload, trace } = takeEventTrace(row.payload as Record<string, unknown>);
        const carrier = asTraceCarrier(trace);
        if (carrier) traces.set(row.id, { carrier, type: row.type });
        return {
          id: row.id,
          organizationId: row.organizationId,
          type: row.type as PublishedEvent["type"],
          aggregateId: row.aggregateId,
          payload,
          createdAt: row.createdAt.toISOString(),
        };
      });
      const deliveries = webhooks ? await webhooks.createDeliveries(tx, events) : [];
      const pipeline = this.redis.pipeline();
      for (const event of events) pipeline.publish(redisChannel(this.redis, EVENTS_CHANNEL), JSON.stringify(event));
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err);
      if (failed) throw failed[0];
      await tx.$executeRaw`UPDATE "Event" SET "publishedAt" = now() WHERE id = ANY(${rows.map((r) => r.id)}::uuid[])`;
      return { published: rows.length, deliveries };
    });
    // --- traces (issue 10) ---
    if (traces.size > 0 && tracingEnabled()) {
      await this.continueTraces(traces, webhooks ? deliveries : []);
      return published;
    }
    // --- end traces ---
    if (webhooks && deliveries.length > 0) await this.enqueueDeliveries(deliveries);
    return published;
  }

  private async enqueueDeliveries(deliveries: Array<{ deliveryId: string; organizationId: string }>): Promise<void> {
    await this.options.webhooks?.enqueue(deliveries).catch((err) => {
      this.logger.warn({ err, deliveries: deliveries.length }, "queueing webhook deliveries failed; the sweeper will");
    });
  }

  // --- traces (issue 10) ---
  /**
   * One `outbox publish <type>` span per published event that carried a trace, in that trace;
   * the event's webhook deliveries are queued inside it, so their jobs continue the trace too.
   * Deliveries of events without a trace are queued as usual.
   */
  private async continueTraces(
    traces: Map<string, { carrier: TraceCarrier; type: string }>,
    deliveries: Array<{ deliveryId: string; organizationId: string; eventId?: string }>,
  ): Promise<void> {
    const untraced = deliveries.filter((d) => !d.eventId || !traces.has(d.eventId));
    for (const [eventId, { carrier, type }] of traces) {
      const own = deliveries.filter((d) => d.eventId === eventId);
      await withSpan(
        `outbox publish ${type}`,
        {
          kind: "producer",
          parent: carrier,
          attributes: { "event.id": eventId, "event.type": type, "webhook.deliveries": own.length },
        },
        async () => {
          if (own.length > 0) await this.enqueueDeliveries(own);
        },
      );
    }
    if (untraced.length > 0) await this.enqueueDeliveries(untraced);
  }
  // --- end traces ---

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.options.listenUrl) void this.listen(this.options.listenUrl);
    this.loop = (async () => {
      while (this.running) {
        this.pending = false;
        let published = 0;
        try {
          published = await this.publishBatch();
        } catch (err) {
          this.logger.error({ err }, "outbox relay batch failed; retrying");
        }
        if (published === 0 && !this.pending && this.running) {
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
    if (this.relisten) clearTimeout(this.relisten);
    this.relisten = null;
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
    this.signal();
    await this.loop;
  }

  /** Look for events now (a batch that is running finishes, then the relay looks again). */
  private signal(): void {
    this.pending = true;
    this.wake?.();
  }

  /** LISTENs on its own connection; lost, it listens again after a pause and sweeps. */
  private async listen(url: string): Promise<void> {
    if (!this.running) return;
    const client = new pg.Client({ connectionString: url, application_name: "sprintconnect-outbox-relay" });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.listener === client) this.listener = null;
      client.removeAllListeners("notification");
      void client.end().catch(() => undefined);
      if (!this.running) return;
      this.logger.warn({ err }, "outbox relay lost its LISTEN connection; polling until it listens again");
      this.relisten = setTimeout(() => void this.listen(url), RELISTEN_DELAY_MS);
      this.relisten.unref();
    };
    client.on("error", onLost);
    client.on("end", () => onLost());
    client.on("notification", () => this.signal());
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_NOTIFY_CHANNEL}`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (!this.running || lost) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    // Whatever committed before LISTEN took effect notified nobody: sweep once now.
    this.signal();
  }
}

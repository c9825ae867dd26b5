import {
  AppError,
  createRedis,
  ErrorCode,
  EVENTS_CHANNEL,
  type Logger,
  type Redis,
  redisChannel,
} from "@sprintconnect/core";

/**
 * One event as the outbox relay publishes it on `EVENTS_CHANNEL` (core's `PublishedEvent`),
 * with its type left open: a subscriber skips types it does not know.
 */
export interface DomainEvent {
  id: string;
  organizationId: string;
  type: string;
  aggregateId: string | null;
  payload: Record<string, unknown>;
  createdAt: string;
}

/**
 * Live events, for subscriptions. `select` sees every event once and returns what the
 * subscriber receives, or `undefined` to skip it (filtering and mapping in one step). The
 * iterator's `return()` unsubscribes at once, even while a `next()` is pending.
 */
export interface EventSource {
  subscribe<T>(select: (event: DomainEvent) => T | undefined): Promise<AsyncIterableIterator<T>>;
}

export interface RedisEventHubOptions {
  redisUrl: string;
  logger: Logger;
  /** Default: core's `EVENTS_CHANNEL`, where the outbox relay publishes. */
  channel?: string;
  /** Event ids remembered for deduplication (delivery is at least once). Default 10,000. */
  dedupeSize?: number;
  /** Events a slow subscriber may have waiting; past this its subscription ends with an error. Default 1,000. */
  bufferSize?: number;
}

/** Parses one pub/sub message into an event, or null when it does not follow the contract. */
export function parseEvent(message: string): DomainEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const e = value as Record<string, unknown>;
  const payload = e.payload;
  if (
    typeof e.id !== "string" ||
    e.id === "" ||
    typeof e.organizationId !== "string" ||
    typeof e.type !== "string" ||
    typeof e.createdAt !== "string" ||
    Number.isNaN(Date.parse(e.createdAt)) ||
    (e.aggregateId !== undefined && e.aggregateId !== null && typeof e.aggregateId !== "string") ||
    typeof payload !== "object" ||
    payload === null ||
    Array.isArray(payload)
  ) {
    return null;
  }
  return {
    id: e.id,
    organizationId: e.organizationId,
    type: e.type,
    aggregateId: (e.aggregateId as string | null | undefined) ?? null,
    payload: payload as Record<string, unknown>,
    createdAt: e.createdAt,
  };
}

/**
 * One subscriber's bounded queue: values wait here until the subscription asks for them. A
 * subscriber that lets more than `limit` values wait is ended with SERVICE_UNAVAILABLE
 * (`tooSlow`), after the values already queued, rather than holding memory without bound.
 * `return()` ends it at once, even while a `next()` is pending; `onEnd` runs once either way.
 */
export class SubscriberQueue<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  private done = false;
  private failure: unknown = null;

  constructor(
    private readonly limit: number,
    private readonly tooSlow: string,
    private readonly onEnd: () => void,
  ) {}

  push(value: T): void {
    if (this.done) return;
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve({ value, done: false });
    } else if (this.queue.length >= this.limit) {
      this.fail(new AppError(ErrorCode.SERVICE_UNAVAILABLE, this.tooSlow));
    } else {
      this.queue.push(value);
    }
  }

  /** Ends the subscription after the values already queued (the source completed). */
  end(): void {
    this.finish();
  }

  /** Values waiting for the subscriber to take them. */
  get length(): number {
    return this.queue.length;
  }

  /** Ends the subscription with an error, after the values already queued. */
  fail(error: unknown): void {
    if (this.done) return;
    this.failure = error;
    this.finish();
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.failure = null;
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.onEnd();
    if (this.waiting) {
      const { resolve, reject } = this.waiting;
      this.waiting = null;
      if (this.failure) {
        const failure = this.failure;
        this.failure = null;
        reject(failure);
      } else {
        resolve({ value: undefined, done: true });
      }
    }
  }
}

/** A subscriber of the domain events: its selection and its queue. */
class Subscriber<T> extends SubscriberQueue<T> {
  constructor(
    readonly select: (event: DomainEvent) => T | undefined,
    limit: number,
    onEnd: () => void,
  ) {
    super(limit, "Subscriber too slow: events were dropped; subscribe again", onEnd);
  }
}

/**
 * The process's view of {@link EVENTS_CHANNEL}: ONE Redis subscriber connection, opened on the
 * first subscription and kept until `close()`, fanned out in process to every subscriber.
 * Delivery from the outbox is at least once, so each event id is dispatched once per process
 * (a bounded set of recent ids). Pub/sub itself keeps nothing: events published while the
 * connection is down are not replayed (ioredis reconnects and resubscribes).
 */
export class RedisEventHub implements EventSource {
  private channel: string;
  private readonly dedupeSize: number;
  private readonly bufferSize: number;
  private readonly subscribers = new Set<Subscriber<unknown>>();
  private readonly recentIds = new Set<string>();
  private connection: Redis | null = null;
  private subscribed: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: RedisEventHubOptions) {
    this.channel = options.channel ?? EVENTS_CHANNEL;
    this.dedupeSize = options.dedupeSize ?? 10_000;
    this.bufferSize = options.bufferSize ?? 1_000;
  }

  /** Subscribers currently attached in this process. */
  get size(): number {
    return this.subscribers.size;
  }

  async subscribe<T>(select: (event: DomainEvent) => T | undefined): Promise<AsyncIterableIterator<T>> {
    if (this.closed) throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "The event stream is closed");
    try {
      await this.start();
    } catch (err) {
      this.options.logger.error({ err }, "cannot subscribe to the event channel");
      throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "Events are unavailable; retry later");
    }
    const subscriber: Subscriber<T> = new Subscriber<T>(select, this.bufferSize, () =>
      this.subscribers.delete(subscriber as Subscriber<unknown>),
    );
    this.subscribers.add(subscriber as Subscriber<unknown>);
    return subscriber;
  }

  /** Dispatches one raw message; public so that tests and other transports can feed the hub. */
  dispatch(message: string): void {
    const event = parseEvent(message);
    if (!event) {
      this.options.logger.warn({ channel: this.channel }, "ignored a malformed event message");
      return;
    }
    if (this.recentIds.has(event.id)) return;
    this.recentIds.add(event.id);
    if (this.recentIds.size > this.dedupeSize) {
      const oldest = this.recentIds.values().next().value;
      if (oldest !== undefined) this.recentIds.delete(oldest);
    }
    for (const subscriber of [...this.subscribers]) {
      let value: unknown;
      try {
        value = subscriber.select(event);
      } catch (err) {
        this.options.logger.warn({ err, eventId: event.id, type: event.type }, "event selection failed");
        continue;
      }
      if (value !== undefined) subscriber.push(value);
    }
  }

  /** Ends every subscription and closes the Redis connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const subscriber of [...this.subscribers]) void subscriber.return();
    const connection = this.connection;
    this.connection = null;
    this.subscribed = null;
    if (connection) {
      await connection.quit().catch(() => connection.disconnect());
    }
  }

  private start(): Promise<void> {
    if (!this.subscribed) {
      const connection = createRedis(this.options.redisUrl, "events-subscriber");
      this.channel = redisChannel(connection, this.options.channel ?? EVENTS_CHANNEL);
      connection.on("message", (channel: string, message: string) => {
        if (channel === this.channel) this.dispatch(message);
      });
      connection.on("error", (err: Error) => this.options.logger.warn({ err }, "event subscriber connection error"));
      this.connection = connection;
      this.subscribed = connection.subscribe(this.channel).then(
        () => undefined,
        (err: unknown) => {
          // Let the next subscription try again with a new connection.
          this.subscribed = null;
          this.connection = null;
          connection.disconnect();
          throw err;
        },
      );
    }
    return this.subscribed;
  }
}

import {
  AppError,
  type ChatEventLog,
  type ChatEventRecord,
  chatChannel,
  createRedis,
  ErrorCode,
  type Logger,
  parseChatEvent,
  type Redis,
  redisChannel,
  whenReady,
} from "@sprintconnect/core";
import { SubscriberQueue } from "@sprintconnect/subgraph-kit";

/** Events a slow subscriber may have waiting before its subscription ends with an error. */
const BUFFER_LIMIT = 10_000;

/**
 * One subscriber's stream: replayed events (seq > after) first, then live ones, each seq once
 * and in order. `return()` unsubscribes at once, even while a `next()` is pending.
 */
class ChatEventStream extends SubscriberQueue<ChatEventRecord> {
  /** Live events that arrived while the replay was being read. */
  private early: ChatEventRecord[] | null = [];

  constructor(
    private last: number,
    onEnd: () => void,
  ) {
    super(BUFFER_LIMIT, "Subscriber too slow; subscribe again with `after`", onEnd);
  }

  /** Ends the replay phase: `replayed` and the early live events, deduplicated and in order. */
  replayed(events: ChatEventRecord[]): void {
    const early = this.early ?? [];
    this.early = null;
    for (const event of [...events, ...early].sort((a, b) => a.seq - b.seq)) this.push(event);
  }

  override push(event: ChatEventRecord): void {
    if (this.early) {
      this.early.push(event);
      return;
    }
    if (event.seq <= this.last) return;
    this.last = event.seq;
    super.push(event);
  }
}

/**
 * The process's view of the chat channels: ONE Redis subscriber connection; a session's
 * channel is subscribed while someone in this process listens to it.
 */
export class ChatEventHub {
  /** Per subscribed channel: its streams, and the SUBSCRIBE they all wait for before replaying. */
  private readonly listeners = new Map<string, { streams: Set<ChatEventStream>; subscribed: Promise<unknown> }>();
  private connection: Redis | null = null;

  constructor(
    private readonly redisUrl: string,
    private readonly log: ChatEventLog,
    private readonly logger: Logger,
  ) {}

  /** Live events of a session, after replaying the logged ones with `seq > after` (when given). */
  async subscribe(sessionId: string, after: number | null): Promise<AsyncIterableIterator<ChatEventRecord>> {
    const connection = this.connect();
    const channel = redisChannel(connection, chatChannel(sessionId));
    let entry = this.listeners.get(channel);
    const stream = new ChatEventStream(after ?? 0, () => this.remove(channel, stream));
    if (!entry) {
      // Not during ioredis's handshake (see whenReady). Every stream of the channel replays
      // only once the channel is subscribed, or it could miss what is published in between.
      const subscribed = whenReady(connection).then(() => connection.subscribe(channel));
      subscribed.catch(() => undefined); // awaited below
      entry = { streams: new Set(), subscribed };
      this.listeners.set(channel, entry);
    }
    entry.streams.add(stream);
    try {
      await entry.subscribed;
      stream.replayed(after === null ? [] : await this.log.replay(sessionId, after));
    } catch (err) {
      void stream.return();
      this.logger.error({ err }, "cannot subscribe to chat events");
      throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "Chat events are unavailable; retry later");
    }
    return stream;
  }

  async close(): Promise<void> {
    for (const { streams } of this.listeners.values()) for (const stream of [...streams]) void stream.return();
    const connection = this.connection;
    this.connection = null;
    if (connection) await connection.quit().catch(() => connection.disconnect());
  }

  private connect(): Redis {
    if (!this.connection) {
      const connection = createRedis(this.redisUrl, "chat-events-subscriber");
      connection.on("message", (channel: string, message: string) => {
        const event = parseChatEvent(message);
        if (!event) return;
        for (const stream of this.listeners.get(channel)?.streams ?? []) stream.push(event);
      });
      connection.on("error", (err: Error) => this.logger.warn({ err }, "chat event subscriber connection error"));
      this.connection = connection;
    }
    return this.connection;
  }

  private remove(channel: string, stream: ChatEventStream): void {
    const entry = this.listeners.get(channel);
    if (!entry?.streams.delete(stream) || entry.streams.size > 0) return;
    this.listeners.delete(channel);
    const connection = this.connection;
    if (!connection) return;
    // After its SUBSCRIBE (and so never during the handshake); not if the channel is wanted again.
    void entry.subscribed
      .then(() => whenReady(connection))
      .then(() => (this.listeners.has(channel) ? undefined : connection.unsubscribe(channel)))
      .catch(() => undefined);
  }
}

import {
  CHAT_PREFIX,
  type ChatControl,
  chatControlChannel,
  createRedis,
  type Logger,
  parseChatControl,
  type Redis,
} from "@sprintconnect/core";

/**
 * Control messages (cancel, approval decisions) for the turns this worker runs: one Redis
 * subscriber connection with one pattern subscription, dispatched to the running turn.
 */
export class ChatControlHub {
  private readonly handlers = new Map<string, (control: ChatControl) => void>();
  private connection: Redis | null = null;
  private ready: Promise<unknown> | null = null;

  constructor(
    private readonly redisUrl: string,
    private readonly logger: Logger,
  ) {}

  /** Routes `turnId`'s control messages to `handler` until the returned function is called. */
  async listen(turnId: string, handler: (control: ChatControl) => void): Promise<() => void> {
    await this.start();
    const channel = chatControlChannel(turnId);
    this.handlers.set(channel, handler);
    return () => {
      if (this.handlers.get(channel) === handler) this.handlers.delete(channel);
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
    const connection = this.connection;
    this.connection = null;
    this.ready = null;
    if (connection) await connection.quit().catch(() => connection.disconnect());
  }

  private start(): Promise<unknown> {
    if (!this.ready) {
      const connection = createRedis(this.redisUrl, "chat-control-subscriber");
      connection.on("pmessage", (_pattern: string, channel: string, message: string) => {
        const control = parseChatControl(message);
        if (control) this.handlers.get(channel)?.(control);
      });
      connection.on("error", (err: Error) => this.logger.warn({ err }, "chat control connection error"));
      this.connection = connection;
      this.ready = connection.psubscribe(`${CHAT_PREFIX}:control:*`).catch((err: unknown) => {
        this.ready = null;
        this.connection = null;
        connection.disconnect();
        throw err;
      });
    }
    return this.ready;
  }
}

import { createHash } from "node:crypto";
import type { Logger } from "@sprintconnect/core";
import { connectMcp, type FetchLike, type McpConnection, type McpTarget } from "@sprintconnect/mcp";

/** A turn's hold on a pooled connection. */
export interface ConnectionLease {
  connection: McpConnection;
  /** Gives the connection back; it closes once nobody holds it for the pool's idle time. */
  release(): void;
}

interface Entry {
  connection: Promise<McpConnection>;
  holders: number;
  idle: NodeJS.Timeout | null;
  listeners: Set<(error: unknown) => void>;
}

/**
 * MCP connections the worker's chat turns share, one per server, address, transport and
 * credentials: opening one costs an `initialize` handshake, so consecutive turns reuse it. A
 * transport failure (refused, cut, an HTTP error the SDK raises on the stream) drops the
 * connection, so the next call opens a new one; a connection nobody holds closes after
 * `idleMs`. Each request still goes through the caller's `fetch` (the egress guard).
 */
export class McpConnectionPool {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: { fetch: FetchLike; timeoutMs: number; idleMs: number; logger: Logger }) {}

  /**
   * A connection to `target`, opened or shared. `onFailure` hears every transport failure of
   * the connection until the lease is released.
   */
  async acquire(
    serverId: string,
    target: McpTarget & { headers: Record<string, string> },
    onFailure: (error: unknown) => void,
  ): Promise<ConnectionLease> {
    const key = createHash("sha256")
      .update(JSON.stringify([serverId, target.url, target.transport, Object.entries(target.headers).sort()]))
      .digest("hex");
    let entry = this.entries.get(key);
    if (!entry) entry = this.open(key, target);
    const held = entry;
    held.holders += 1;
    if (held.idle) clearTimeout(held.idle);
    held.idle = null;
    held.listeners.add(onFailure);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      held.listeners.delete(onFailure);
      held.holders -= 1;
      if (held.holders === 0 && this.entries.get(key) === held) {
        held.idle = setTimeout(() => this.drop(key, held), this.options.idleMs);
        held.idle.unref();
      }
    };
    try {
      return { connection: await held.connection, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    const entries = [...this.entries.entries()];
    await Promise.allSettled(entries.map(([key, entry]) => this.drop(key, entry)));
  }

  private open(key: string, target: McpTarget & { headers: Record<string, string> }): Entry {
    const entry: Entry = { connection: Promise.resolve(null as never), holders: 0, idle: null, listeners: new Set() };
    const failed = (error: unknown) => {
      for (const listener of [...entry.listeners]) listener(error);
      void this.drop(key, entry);
    };
    const fetch: FetchLike = async (url, init) => {
      const response = await this.options.fetch(url, init).catch((error: unknown) => {
        failed(error);
        throw error;
      });
      return response.body ? new Response(watchBody(response.body, failed), response) : response;
    };
    entry.connection = connectMcp(target, { fetch, timeoutMs: this.options.timeoutMs });
    entry.connection.catch(() => this.drop(key, entry));
    this.entries.set(key, entry);
    return entry;
  }

  private async drop(key: string, entry: Entry): Promise<void> {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    if (entry.idle) clearTimeout(entry.idle);
    const connection = await entry.connection.catch(() => null);
    await connection?.close().catch((err: unknown) => this.options.logger.debug({ err }, "chat: closing a connection"));
  }
}

/**
 * The same body, noting a read failure: the SDK reads a response stream in the background, and
 * a body the egress guard cuts (too large) would otherwise only show as a request that never
 * answers.
 */
function watchBody(body: ReadableStream<Uint8Array>, failed: (error: unknown) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        failed(error);
        controller.error(error);
        return;
      }
      if (chunk.done) controller.close();
      else controller.enqueue(chunk.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

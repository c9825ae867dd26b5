import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";

/** The `fetch` every connection uses: the egress guard's, so every hop is checked and pinned. */
export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** How to reach one MCP server. */
export interface McpTarget {
  url: string;
  transport: "streamable_http" | "sse";
  /** Credentials (bearer token or custom headers) from the secret store; sent on every request. */
  headers?: Record<string, string>;
}

export interface ConnectOptions {
  fetch: FetchLike;
  /** Timeout of `initialize` and of each request made through the client. */
  timeoutMs: number;
}

/** A connected client and what `initialize` told us. */
export interface McpConnection {
  client: Client;
  /** The transport actually used (a Streamable HTTP target may have fallen back to SSE). */
  transport: "streamable_http" | "sse";
  protocolVersion: string | null;
  close(): Promise<void>;
}

export const CLIENT_INFO = { name: "sprintconnect", version: "1.0.0" };

/** HTTP status carried by the SDK's transport errors, if any. */
export function httpStatusOf(err: unknown): number | null {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "number" && code >= 100 && code < 600) return code;
  const match = /\b(401|403|404|405|5\d\d)\b/.exec(String((err as Error)?.message ?? ""));
  return match ? Number(match[1]) : null;
}

function streamable(target: McpTarget, options: ConnectOptions): Transport {
  return new StreamableHTTPClientTransport(new URL(target.url), {
    fetch: options.fetch,
    requestInit: { headers: target.headers ?? {} },
  });
}

function sse(target: McpTarget, options: ConnectOptions): Transport {
  const headers = target.headers ?? {};
  return new SSEClientTransport(new URL(target.url), {
    fetch: options.fetch,
    requestInit: { headers },
    // The event stream itself also needs the credentials.
    eventSourceInit: {
      fetch: (url, init) => options.fetch(url, { ...init, headers: { ...(init?.headers as object), ...headers } }),
    },
  });
}

async function open(
  kind: McpConnection["transport"],
  transport: Transport,
  options: ConnectOptions,
): Promise<McpConnection> {
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  // The client does not expose the negotiated version; it hands it to the transport.
  let protocolVersion: string | null = null;
  const setVersion = transport.setProtocolVersion?.bind(transport);
  transport.setProtocolVersion = (version: string) => {
    protocolVersion = version;
    setVersion?.(version);
  };
  try {
    await client.connect(transport, { timeout: options.timeoutMs });
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
  return {
    client,
    transport: kind,
    protocolVersion,
    close: () => client.close(),
  };
}

/**
 * Connects with the target's transport. A Streamable HTTP target whose first POST is refused
 * the way older servers refuse it (404 or 405) is retried over the legacy SSE transport, as the
 * MCP specification's backwards-compatibility section describes.
 */
export async function connectMcp(target: McpTarget, options: ConnectOptions): Promise<McpConnection> {
  if (target.transport === "sse") return open("sse", sse(target, options), options);
  try {
    return await open("streamable_http", streamable(target, options), options);
  } catch (err) {
    const status = httpStatusOf(err);
    if (status === 404 || status === 405) return open("sse", sse(target, options), options);
    throw err;
  }
}

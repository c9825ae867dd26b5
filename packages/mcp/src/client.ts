import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type SpanHandle, tracingEnabled, withSpan } from "@sprintconnect/core";
import { truncateRemoteText } from "./remote-text";

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
  /** Aborts `initialize` (e.g. a discovery run's overall deadline). */
  signal?: AbortSignal;
}

/**
 * Bytes of an HTTP error body we read. The SDK puts the whole body of a refused request into
 * its error message; a server could answer every request with megabytes of it.
 */
export const MAX_ERROR_BODY_BYTES = 4096;

/** `fetch` whose 4xx/5xx bodies are cut to `MAX_ERROR_BODY_BYTES` (the rest is never read). */
export function limitErrorBodies(fetch: FetchLike): FetchLike {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (response.status < 400 || !response.body) return response;
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      while (size < MAX_ERROR_BODY_BYTES) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value.subarray(0, MAX_ERROR_BODY_BYTES - size));
        size += Math.min(value.byteLength, MAX_ERROR_BODY_BYTES - size);
      }
    } catch {
      // A body that fails half-way still has a status; what arrived is enough.
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    headers.delete("content-encoding");
    return new Response(Buffer.concat(chunks), { status: response.status, statusText: response.statusText, headers });
  };
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

/**
 * An error from a connection as text safe to store and show: the message (no stack), the HTTP
 * status when the message does not already name it, at most MAX_REMOTE_TEXT_CHARS characters.
 */
export function describeRemoteError(err: unknown): string {
  const status = httpStatusOf(err);
  const text = err instanceof Error ? err.message : String(err);
  return truncateRemoteText(status && !text.includes(String(status)) ? `HTTP ${status}: ${text}` : text);
}

function streamable(target: McpTarget, options: ConnectOptions): Transport {
  return new StreamableHTTPClientTransport(new URL(target.url), {
    fetch: limitErrorBodies(options.fetch),
    requestInit: { headers: target.headers ?? {} },
  });
}

function sse(target: McpTarget, options: ConnectOptions): Transport {
  const headers = target.headers ?? {};
  const fetch = limitErrorBodies(options.fetch);
  return new SSEClientTransport(new URL(target.url), {
    fetch,
    requestInit: { headers },
    // The event stream itself also needs the credentials.
    eventSourceInit: {
      fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers as object), ...headers } }),
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
    await client.connect(transport, {
      timeout: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
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

// --- traces (issue 10) ---
/**
 * One client span per MCP operation (discovery, health probe, tool call) in the active trace;
 * the HTTP requests it makes are its children (the `undici` instrumentation propagates the
 * trace to the server). Attributes name the server's host and transport, never its URL's path
 * or query, nor its credentials. Tracing off: `fn` runs as it is.
 */
export function traceMcp<T>(
  operation: string,
  target: McpTarget,
  fn: (span: SpanHandle) => Promise<T>,
  attributes: Record<string, string | number | boolean> = {},
): Promise<T> {
  if (!tracingEnabled()) return fn(NO_SPAN);
  let host = "";
  try {
    host = new URL(target.url).host;
  } catch {
    // An invalid URL fails in the operation itself.
  }
  return withSpan(
    `mcp ${operation}`,
    {
      kind: "client",
      attributes: {
        "mcp.operation": operation,
        "mcp.transport": target.transport,
        "server.address": host,
        ...attributes,
      },
    },
    fn,
  );
}

const NO_SPAN: SpanHandle = { setAttribute: () => undefined };
// --- end traces ---

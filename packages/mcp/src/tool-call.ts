import { type ConnectOptions, connectMcp, type McpTarget, traceMcp } from "./client";

/** What one tool call returned, as the chat agent and usage metering need it. */
export interface ToolCallResult {
  /** The MCP `content` blocks (text, images, resources). */
  content: unknown[];
  structuredContent: Record<string, unknown> | null;
  /** The tool reported an error (`isError`); the call itself succeeded. */
  isError: boolean;
  durationMs: number;
}

/**
 * Calls one tool on a server: connect (through the caller's egress-guarded fetch, with the
 * server's credentials), `tools/call` with a timeout, close. Transport and protocol failures
 * throw; a tool that reports an error returns `isError: true`.
 */
export function callTool(
  target: McpTarget,
  call: { name: string; arguments: Record<string, unknown> },
  options: ConnectOptions,
): Promise<ToolCallResult> {
  // --- traces (issue 10) ---
  return traceMcp(
    "tools/call",
    target,
    async (span) => {
      const result = await callToolUntraced(target, call, options);
      span.setAttribute("mcp.tool.is_error", result.isError);
      return result;
    },
    { "mcp.tool.name": call.name },
  );
  // --- end traces ---
}

async function callToolUntraced(
  target: McpTarget,
  call: { name: string; arguments: Record<string, unknown> },
  options: ConnectOptions,
): Promise<ToolCallResult> {
  const started = performance.now();
  const connection = await connectMcp(target, options);
  try {
    const result = await connection.client.callTool({ name: call.name, arguments: call.arguments }, undefined, {
      timeout: options.timeoutMs,
    });
    return {
      content: Array.isArray(result.content) ? result.content : [],
      structuredContent: (result.structuredContent ?? null) as Record<string, unknown> | null,
      isError: result.isError === true,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

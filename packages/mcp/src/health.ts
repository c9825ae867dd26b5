import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { type ConnectOptions, connectMcp, describeRemoteError, httpStatusOf, type McpTarget, traceMcp } from "./client";
import { truncateRemoteText } from "./remote-text";

/** What one check saw, before any threshold is applied. */
export type ProbeResult = "healthy" | "degraded" | "unhealthy" | "auth_required";

export interface Probe {
  result: ProbeResult;
  /** Time to connect, initialize and answer `ping`; null when it failed. */
  latencyMs: number | null;
  /** What went wrong, as the server or the network told it: at most MAX_REMOTE_TEXT_CHARS characters. */
  error: string | null;
}

/**
 * Connect, `ping`, measure. Slow answers (over `degradedAfterMs`) and partial ones (it
 * initializes but refuses `ping` with a protocol error) are `degraded`; 401 or 403 is
 * `auth_required`; anything else that fails, including a timeout, is `unhealthy`.
 */
export function probe(target: McpTarget, options: ConnectOptions & { degradedAfterMs: number }): Promise<Probe> {
  // --- traces (issue 10) ---
  return traceMcp("probe", target, async (span) => {
    const result = await probeUntraced(target, options);
    span.setAttribute("mcp.probe.result", result.result);
    return result;
  });
  // --- end traces ---
}

async function probeUntraced(target: McpTarget, options: ConnectOptions & { degradedAfterMs: number }): Promise<Probe> {
  const start = performance.now();
  let connection: Awaited<ReturnType<typeof connectMcp>> | undefined;
  try {
    connection = await connectMcp(target, options);
    try {
      await connection.client.ping({ timeout: options.timeoutMs });
    } catch (err) {
      // It initialized but answers `ping` with a protocol error: up, but only partly working.
      if (err instanceof McpError && err.code !== ErrorCode.RequestTimeout && err.code !== ErrorCode.ConnectionClosed) {
        return {
          result: "degraded",
          latencyMs: Math.round(performance.now() - start),
          error: truncateRemoteText(`partial: ping failed: ${err.message}`),
        };
      }
      throw err;
    }
    const latencyMs = Math.round(performance.now() - start);
    return { result: latencyMs > options.degradedAfterMs ? "degraded" : "healthy", latencyMs, error: null };
  } catch (err) {
    const status = httpStatusOf(err);
    const message = describeRemoteError(err);
    if (status === 401 || status === 403) return { result: "auth_required", latencyMs: null, error: message };
    return { result: "unhealthy", latencyMs: null, error: message };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

import { DynamicStructuredTool } from "@langchain/core/tools";
import { loadMcpTools } from "@langchain/mcp-adapters";
import {
  AppError,
  type CompiledPolicies,
  ErrorCode,
  type Logger,
  type PolicyDecision,
  type PrismaClient,
  type SecretStore,
  type ServerFacts,
} from "@sprintconnect/core";
import type { McpConnection } from "@sprintconnect/mcp";
import { credentialHeaders } from "../credentials";
import type { ChatRepository } from "./chat.repository";
import type { ConnectionLease, McpConnectionPool } from "./connection-pool";

/** One MCP tool the agent may call, with where it lives and whether a person must approve it. */
export interface SessionTool {
  /** The name the model sees (prefixed with the server's name when two servers share a tool name). */
  name: string;
  toolName: string;
  serverId: string;
  capabilityId: string | null;
  needsApproval: boolean;
  /** The server's facts access policies decide on. */
  server: ServerFacts;
  /** The `call_tool` decision when the turn's tools were loaded: refused tools are not offered to the model. */
  decision: PolicyDecision;
  /** The adapter's tool over our connected client. */
  inner: DynamicStructuredTool;
  /** The last transport failure of the tool's server connection (typed, from the egress guard). */
  lastFailure(): { error: unknown; at: number } | null;
  /** Calls `listener` on each transport failure of the server connection until the returned function is called. */
  onFailure(listener: () => void): () => void;
}

export interface SessionTools {
  tools: SessionTool[];
  close(): Promise<void>;
}

/** A tool name a provider accepts: letters, digits, `_` and `-`, at most 64 characters. */
export function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

/**
 * The session's tools, from the definitions discovery stored (the reviewed ones: a server that
 * now describes a tool differently cannot change what the model sees), with the adapter's
 * `loadMcpTools` over a client that takes a connection to a server from the worker's pool (OUR MCP
 * client: egress guard, stored credentials, timeouts, response caps) only when one of its tools
 * is first called. A turn that calls no tool touches no server; a server that cannot be reached fails the call
 * (SERVICE_UNAVAILABLE), not the turn. Only tools discovery has seen and nobody disabled or
 * flagged for review are kept; a session's server deregistered since contributes none. Each tool
 * carries the caller's `call_tool` policy decision: the turn offers the model only allowed ones.
 */
export async function loadSessionTools(options: {
  db: PrismaClient;
  repo: ChatRepository;
  secrets: SecretStore;
  pool: McpConnectionPool;
  logger: Logger;
  organizationId: string;
  serverIds: readonly string[];
  timeoutMs: number;
  approvalRules: ReadonlySet<string>;
  /** The caller's `call_tool` policies. */
  policies: CompiledPolicies;
}): Promise<SessionTools> {
  const servers = await options.repo.servers(options.organizationId, options.serverIds);
  const nameCount = new Map<string, number>();
  for (const server of servers) {
    for (const c of server.capabilities) nameCount.set(c.name, (nameCount.get(c.name) ?? 0) + 1);
  }
  const leases: ConnectionLease[] = [];
  const loaded = await Promise.all(
    servers.map(async (server): Promise<SessionTool[]> => {
      let failure: { error: unknown; at: number } | null = null;
      const listeners = new Set<() => void>();
      const failed = (error: unknown) => {
        failure = { error, at: Date.now() };
        for (const listener of [...listeners]) listener();
      };
      let lease: Promise<ConnectionLease> | null = null;
      const connect = async (): Promise<McpConnection> => {
        lease ??= (async () => {
          const headers = await credentialHeaders(options.db, options.secrets, server);
          let held: ConnectionLease | undefined;
          held = await options.pool.acquire(
            server.id,
            { url: server.baseUrl, transport: server.transport, headers },
            (error) => {
              // The pool dropped the connection: this turn's next call takes a new one.
              lease = null;
              held?.release();
              failed(error);
            },
          );
          leases.push(held);
          return held;
        })();
        const pending = lease;
        try {
          return (await pending).connection;
        } catch (error) {
          // Every call waiting on this attempt fails as a transport failure; the next call tries again.
          if (lease === pending) {
            lease = null;
            options.logger.warn({ err: error, serverId: server.id }, "chat: cannot connect to a server");
            failed(error);
          }
          throw error;
        }
      };
      const definitions = server.capabilities.map((c) => ({
        ...(c.definition as Record<string, unknown>),
        name: c.name,
        inputSchema: (c.inputSchema ?? { type: "object" }) as Record<string, unknown>,
      }));
      // What loadMcpTools uses of a client: the tool list (ours), and calls (over a lazy connection).
      const client = {
        listTools: async () => ({ tools: structuredClone(definitions) }),
        callTool: async (...args: Parameters<McpConnection["client"]["callTool"]>) =>
          (await connect()).client.callTool(...args),
        readResource: async (...args: Parameters<McpConnection["client"]["readResource"]>) =>
          (await connect()).client.readResource(...args),
      };
      const allowed = new Map(server.capabilities.map((c) => [c.name, c.id]));
      const facts: ServerFacts = { id: server.id, tags: server.tags, environment: server.environment };
      const prefixed = server.capabilities.some((c) => (nameCount.get(c.name) ?? 0) > 1);
      const tools = await loadMcpTools(safeName(server.name), client as never, {
        throwOnLoadError: false,
        prefixToolNameWithServerName: prefixed,
        defaultToolTimeout: options.timeoutMs,
      });
      return tools.flatMap((inner) => {
        const toolName = prefixed ? inner.name.slice(safeName(server.name).length + 2) : inner.name;
        if (!allowed.has(toolName)) return [];
        // The model reads why its arguments were refused (they are checked when the call is invoked).
        inner.verboseParsingErrors = true;
        const annotations = (inner.metadata?.annotations ?? {}) as { destructiveHint?: unknown };
        return [
          {
            name: inner.name,
            toolName,
            serverId: server.id,
            capabilityId: allowed.get(toolName) ?? null,
            server: facts,
            decision: options.policies.capability(facts, { name: toolName, kind: "tool" }),
            needsApproval:
              annotations.destructiveHint === true ||
              options.approvalRules.has(toolName) ||
              options.approvalRules.has(`${server.id}/${toolName}`),
            inner,
            lastFailure: () => failure,
            onFailure: (listener: () => void) => {
              listeners.add(listener);
              return () => listeners.delete(listener);
            },
          },
        ];
      });
    }),
  );
  return {
    tools: loaded.flat(),
    async close() {
      for (const held of leases) held.release();
    },
  };
}

/** A failure as the agent and the client may see it: a code of the list and a message without internals. */
export function classifyToolFailure(
  err: unknown,
  transport: unknown,
  timedOut: boolean,
  timeoutMs: number,
): { code: ErrorCode; message: string } {
  if (transport instanceof AppError) {
    const reason = (transport.extensions.details as { reason?: string } | undefined)?.reason;
    if (reason === "response_too_large") return { code: ErrorCode.PAYLOAD_TOO_LARGE, message: transport.message };
    return { code: transport.code, message: transport.message };
  }
  if (transport)
    return { code: ErrorCode.SERVICE_UNAVAILABLE, message: `The server is unreachable: ${describe(transport)}` };
  if (timedOut)
    return { code: ErrorCode.SERVICE_UNAVAILABLE, message: `The tool call timed out after ${timeoutMs} ms` };
  return { code: ErrorCode.VALIDATION_FAILED, message: describe(err) };
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

/**
 * A tool the graph runs: the same name and description as `tool.inner`, calling `run`. It takes
 * any object: the model sees the tool's real schema (bound from `tool.inner`), and `tool.inner`
 * checks the arguments when `run` invokes it, so arguments that fail the schema are a stored,
 * streamed failed call (`VALIDATION_FAILED`) that never reaches the server, not a message the
 * graph answers on its own.
 */
export function graphTool(
  tool: SessionTool,
  run: (tool: SessionTool, args: Record<string, unknown>, callId: string | undefined) => Promise<string>,
): DynamicStructuredTool {
  return new DynamicStructuredTool({
    name: tool.name,
    description: tool.inner.description,
    schema: { type: "object", additionalProperties: true },
    func: async (args: Record<string, unknown>, _runManager, config) =>
      run(tool, args, (config as { toolCall?: { id?: string } } | undefined)?.toolCall?.id),
  });
}

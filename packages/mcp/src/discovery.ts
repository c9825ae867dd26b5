import { setMaxListeners } from "node:events";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { canonicalize } from "json-canonicalize";
import { type ConnectOptions, connectMcp, type FetchLike, type McpTarget, traceMcp } from "./client";
import { definitionHash } from "./hash";
import { boundRemoteJson, MAX_REMOTE_TEXT_CHARS, truncateOptionalRemoteText, truncateRemoteText } from "./remote-text";

export type CapabilityKind = "tool" | "resource" | "resource_template" | "prompt";

/** One capability as discovered: its identity, display fields and full definition. */
export interface DiscoveredCapability {
  kind: CapabilityKind;
  /** Tool or prompt name, resource URI, or resource URI template. */
  name: string;
  title: string | null;
  description: string | null;
  inputSchema: Record<string, unknown> | null;
  definition: Record<string, unknown>;
  definitionHash: string;
}

export interface DiscoveryResult {
  serverInfo: Record<string, unknown> | null;
  protocolVersion: string | null;
  capabilities: Record<string, unknown> | null;
  instructions: string | null;
  transport: "streamable_http" | "sse";
  items: DiscoveredCapability[];
  /** How many list pages each kind took. */
  pages: Record<CapabilityKind, number>;
}

/** Pages one list may take before discovery gives up (a server that never stops paginating). */
const MAX_PAGES = 10_000;

/**
 * What one discovery run may cost, whatever the server does: a hostile or broken server
 * (endless pagination, huge pages, answers that never finish) fails the run with a
 * `DiscoveryBudgetExceededError` instead of holding a worker and filling the database.
 */
export interface DiscoveryBudget {
  /** Capabilities of all kinds together. */
  maxCapabilities: number;
  /** Response bytes across every request of the run (after decompression). */
  maxBytes: number;
  /** Wall time of the whole run, connection included, in milliseconds. */
  maxMs: number;
  /** Bytes of one capability's canonical JSON definition. Default 64 KiB. */
  maxDefinitionBytes?: number;
}

/** Default `DiscoveryBudget.maxDefinitionBytes`: far above any real tool, far below a flood. */
export const MAX_DEFINITION_BYTES = 64 * 1024;

/** Which limit of the budget a run exceeded. */
export type DiscoveryBudgetLimit = "capabilities" | "bytes" | "time" | "definition" | "name";

/** A discovery run exceeded its budget. Final: another attempt would exceed it again. */
export class DiscoveryBudgetExceededError extends Error {
  constructor(
    readonly limit: DiscoveryBudgetLimit,
    message: string,
  ) {
    super(`discovery budget exceeded: ${message}`);
    this.name = "DiscoveryBudgetExceededError";
  }
}

/** Counts what a run has used so far and throws once a limit is passed. */
class BudgetMeter {
  private capabilities = 0;
  private bytes = 0;
  private readonly deadline = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly budget: DiscoveryBudget) {
    // Every request of the run listens to the deadline (the SDK keeps its listener until the
    // run ends): many pages are expected here, not a leak.
    setMaxListeners(0, this.deadline.signal);
    this.timer = setTimeout(
      () =>
        this.abort(
          new DiscoveryBudgetExceededError("time", `the run took longer than ${Math.round(budget.maxMs / 1000)} s`),
        ),
      budget.maxMs,
    );
    this.timer.unref();
  }

  /** Aborts when any limit is exceeded; the reason is the `DiscoveryBudgetExceededError`. */
  get signal(): AbortSignal {
    return this.deadline.signal;
  }

  /** The error that ended the run, if the budget did. */
  get exceeded(): DiscoveryBudgetExceededError | undefined {
    const reason: unknown = this.deadline.signal.reason;
    return reason instanceof DiscoveryBudgetExceededError ? reason : undefined;
  }

  addCapabilities(count: number): void {
    this.capabilities += count;
    if (this.capabilities > this.budget.maxCapabilities) {
      this.abort(
        new DiscoveryBudgetExceededError(
          "capabilities",
          `the server lists more than ${this.budget.maxCapabilities} capabilities`,
        ),
      );
    }
    this.check();
  }

  addBytes(count: number): void {
    this.bytes += count;
    if (this.bytes > this.budget.maxBytes) {
      this.abort(new DiscoveryBudgetExceededError("bytes", `the server sent more than ${this.budget.maxBytes} bytes`));
    }
    this.check();
  }

  /** Throws the budget error if a limit was exceeded (a request may have swallowed the abort). */
  check(): void {
    const exceeded = this.exceeded;
    if (exceeded) throw exceeded;
  }

  /**
   * `fetch` that aborts with the run and counts every response byte; the body that passes the
   * byte budget errors out.
   */
  meter(fetch: FetchLike): FetchLike {
    return async (url, init = {}) => {
      this.check();
      const signal = init.signal ? AbortSignal.any([init.signal, this.signal]) : this.signal;
      const response = await fetch(url, { ...init, signal });
      if (!response.body) return response;
      const counted = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform: (chunk, controller) => {
            this.addBytes(chunk.byteLength);
            controller.enqueue(chunk);
          },
        }),
        { signal },
      );
      return new Response(counted, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    };
  }

  close(): void {
    clearTimeout(this.timer);
  }

  /** Ends the run: every request in flight aborts, and `check` throws from now on. */
  private abort(error: DiscoveryBudgetExceededError): void {
    if (!this.deadline.signal.aborted) this.deadline.abort(error);
  }
}

/** Follows `nextCursor` to the end; a cursor seen twice is a server bug and fails the list. */
async function paginate<T>(
  what: string,
  meter: BudgetMeter | null,
  list: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await list(cursor);
    pages += 1;
    meter?.addCapabilities(page.items.length);
    items.push(...page.items);
    cursor = page.nextCursor || undefined;
    if (cursor !== undefined) {
      if (seen.has(cursor)) throw new Error(`${what}: the server repeated the cursor ${JSON.stringify(cursor)}`);
      seen.add(cursor);
    }
    if (pages >= MAX_PAGES) throw new Error(`${what}: more than ${MAX_PAGES} pages`);
  } while (cursor !== undefined);
  return { items, pages };
}

function capability(
  kind: CapabilityKind,
  name: string,
  definition: Record<string, unknown>,
  inputSchema: Record<string, unknown> | null,
  maxDefinitionBytes: number,
): DiscoveredCapability {
  // The name is the capability's identity, so it is refused rather than cut; the definition
  // (descriptions included) is data and is kept whole, within a bound.
  if (name.length > MAX_REMOTE_TEXT_CHARS) {
    throw new DiscoveryBudgetExceededError(
      "name",
      `a ${kind} name is ${name.length} characters long, more than ${MAX_REMOTE_TEXT_CHARS}`,
    );
  }
  const size = Buffer.byteLength(canonicalize(definition));
  if (size > maxDefinitionBytes) {
    throw new DiscoveryBudgetExceededError(
      "definition",
      `the definition of ${kind} "${truncateRemoteText(name, 100)}" is ${size} bytes, more than ${maxDefinitionBytes}`,
    );
  }
  return {
    kind,
    name,
    title: typeof definition.title === "string" ? truncateRemoteText(definition.title) : null,
    description: typeof definition.description === "string" ? definition.description : null,
    inputSchema,
    definition,
    definitionHash: definitionHash(definition),
  };
}

/**
 * Lists everything a connected client's server offers, across all pages. With a `meter`, the
 * requests abort with the run and every page counts against its capability budget.
 */
async function listCapabilities(
  client: Client,
  timeoutMs: number,
  meter: BudgetMeter | null = null,
  maxDefinitionBytes = MAX_DEFINITION_BYTES,
) {
  const caps = client.getServerCapabilities() ?? {};
  const opts = { timeout: timeoutMs, ...(meter ? { signal: meter.signal } : {}) };
  const none = { items: [] as never[], pages: 0 };
  const tools = caps.tools
    ? await paginate("tools/list", meter, async (cursor) => {
        const r = await client.listTools(cursor ? { cursor } : {}, opts);
        return { items: r.tools, nextCursor: r.nextCursor };
      })
    : none;
  const resources = caps.resources
    ? await paginate("resources/list", meter, async (cursor) => {
        const r = await client.listResources(cursor ? { cursor } : {}, opts);
        return { items: r.resources, nextCursor: r.nextCursor };
      })
    : none;
  const templates = caps.resources
    ? await paginate("resources/templates/list", meter, async (cursor) => {
        const r = await client.listResourceTemplates(cursor ? { cursor } : {}, opts);
        return { items: r.resourceTemplates, nextCursor: r.nextCursor };
      })
    : none;
  const prompts = caps.prompts
    ? await paginate("prompts/list", meter, async (cursor) => {
        const r = await client.listPrompts(cursor ? { cursor } : {}, opts);
        return { items: r.prompts, nextCursor: r.nextCursor };
      })
    : none;
  const items: DiscoveredCapability[] = [
    ...tools.items.map((t) =>
      capability(
        "tool",
        t.name,
        t as Record<string, unknown>,
        (t.inputSchema ?? null) as Record<string, unknown> | null,
        maxDefinitionBytes,
      ),
    ),
    ...resources.items.map((r) =>
      capability("resource", r.uri, r as Record<string, unknown>, null, maxDefinitionBytes),
    ),
    ...templates.items.map((r) =>
      capability("resource_template", r.uriTemplate, r as Record<string, unknown>, null, maxDefinitionBytes),
    ),
    ...prompts.items.map((p) =>
      capability(
        "prompt",
        p.name,
        p as Record<string, unknown>,
        p.arguments ? { arguments: p.arguments as unknown as Record<string, unknown> } : null,
        maxDefinitionBytes,
      ),
    ),
  ];
  return {
    items,
    pages: { tool: tools.pages, resource: resources.pages, resource_template: templates.pages, prompt: prompts.pages },
  };
}

/**
 * Connects, initializes and lists every capability, following pagination cursors to the end,
 * within `budget` (capabilities, bytes, wall time). A run over budget throws
 * `DiscoveryBudgetExceededError`. Text the server controls (serverInfo, capabilities,
 * instructions, titles) comes back bounded.
 */
export function discover(
  target: McpTarget,
  options: ConnectOptions & { budget: DiscoveryBudget },
): Promise<DiscoveryResult> {
  // --- traces (issue 10) ---
  return traceMcp("discover", target, async (span) => {
    const result = await discoverUntraced(target, options);
    span.setAttribute("mcp.capabilities", result.items.length);
    return result;
  });
  // --- end traces ---
}

async function discoverUntraced(
  target: McpTarget,
  options: ConnectOptions & { budget: DiscoveryBudget },
): Promise<DiscoveryResult> {
  const meter = new BudgetMeter(options.budget);
  let connection: Awaited<ReturnType<typeof connectMcp>> | undefined;
  try {
    connection = await connectMcp(target, { ...options, fetch: meter.meter(options.fetch), signal: meter.signal });
    const { items, pages } = await listCapabilities(
      connection.client,
      options.timeoutMs,
      meter,
      options.budget.maxDefinitionBytes ?? MAX_DEFINITION_BYTES,
    );
    const duplicate = findDuplicate(items);
    if (duplicate) {
      throw new Error(`the server lists ${duplicate.kind} "${truncateRemoteText(duplicate.name, 100)}" twice`);
    }
    return {
      serverInfo: boundRemoteJson(connection.client.getServerVersion() ?? null) as Record<string, unknown> | null,
      protocolVersion: truncateOptionalRemoteText(connection.protocolVersion),
      capabilities: boundRemoteJson(connection.client.getServerCapabilities() ?? null) as Record<
        string,
        unknown
      > | null,
      instructions: truncateOptionalRemoteText(connection.client.getInstructions()),
      transport: connection.transport,
      items,
      pages,
    };
  } catch (err) {
    // An aborted request reports the abort its own way; the budget's reason is the clear one.
    throw meter.exceeded ?? err;
  } finally {
    meter.close();
    await connection?.close().catch(() => undefined);
  }
}

function findDuplicate(items: DiscoveredCapability[]): DiscoveredCapability | undefined {
  const seen = new Set<string>();
  for (const item of items) {
    const key = `${item.kind}\u0000${item.name}`;
    if (seen.has(key)) return item;
    seen.add(key);
  }
  return undefined;
}

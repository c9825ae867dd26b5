import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { type ConnectOptions, connectMcp, type McpTarget } from "./client";
import { definitionHash } from "./hash";

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

/** Follows `nextCursor` to the end; a cursor seen twice is a server bug and fails the list. */
async function paginate<T>(
  what: string,
  list: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await list(cursor);
    pages += 1;
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
): DiscoveredCapability {
  return {
    kind,
    name,
    title: typeof definition.title === "string" ? definition.title : null,
    description: typeof definition.description === "string" ? definition.description : null,
    inputSchema,
    definition,
    definitionHash: definitionHash(definition),
  };
}

/** Lists everything a connected client's server offers, across all pages. */
export async function listCapabilities(client: Client, timeoutMs: number) {
  const caps = client.getServerCapabilities() ?? {};
  const opts = { timeout: timeoutMs };
  const none = { items: [] as never[], pages: 0 };
  const tools = caps.tools
    ? await paginate("tools/list", async (cursor) => {
        const r = await client.listTools(cursor ? { cursor } : {}, opts);
        return { items: r.tools, nextCursor: r.nextCursor };
      })
    : none;
  const resources = caps.resources
    ? await paginate("resources/list", async (cursor) => {
        const r = await client.listResources(cursor ? { cursor } : {}, opts);
        return { items: r.resources, nextCursor: r.nextCursor };
      })
    : none;
  const templates = caps.resources
    ? await paginate("resources/templates/list", async (cursor) => {
        const r = await client.listResourceTemplates(cursor ? { cursor } : {}, opts);
        return { items: r.resourceTemplates, nextCursor: r.nextCursor };
      })
    : none;
  const prompts = caps.prompts
    ? await paginate("prompts/list", async (cursor) => {
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
      ),
    ),
    ...resources.items.map((r) => capability("resource", r.uri, r as Record<string, unknown>, null)),
    ...templates.items.map((r) => capability("resource_template", r.uriTemplate, r as Record<string, unknown>, null)),
    ...prompts.items.map((p) =>
      capability(
        "prompt",
        p.name,
        p as Record<string, unknown>,
        p.arguments ? { arguments: p.arguments as unknown as Record<string, unknown> } : null,
      ),
    ),
  ];
  return {
    items,
    pages: { tool: tools.pages, resource: resources.pages, resource_template: templates.pages, prompt: prompts.pages },
  };
}

/** Connects, initializes and lists every capability, following pagination cursors to the end. */
export async function discover(target: McpTarget, options: ConnectOptions): Promise<DiscoveryResult> {
  const connection = await connectMcp(target, options);
  try {
    const { items, pages } = await listCapabilities(connection.client, options.timeoutMs);
    const duplicate = findDuplicate(items);
    if (duplicate) throw new Error(`the server lists ${duplicate.kind} "${duplicate.name}" twice`);
    return {
      serverInfo: (connection.client.getServerVersion() ?? null) as Record<string, unknown> | null,
      protocolVersion: connection.protocolVersion,
      capabilities: (connection.client.getServerCapabilities() ?? null) as Record<string, unknown> | null,
      instructions: connection.client.getInstructions() ?? null,
      transport: connection.transport,
      items,
      pages,
    };
  } finally {
    await connection.close().catch(() => undefined);
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

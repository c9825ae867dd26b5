import {
  decodeOffsetCursor,
  encodeOffsetCursor,
  type Principal,
  pageSize,
  type UsageRecorder,
} from "@sprintconnect/core";
import { isUuid } from "@sprintconnect/subgraph-kit";
import { toMcpCapability } from "../capabilities/capability.service";
import { ALL_SERVER_FIELDS, type ServerQueries } from "../servers/server.queries";
import { toMcpServer } from "../servers/server.service";
import type { McpServerConnection } from "../servers/server.type";
import { checkSearchText } from "../shared/search-text";
import type { CapabilitySearch, SearchRepository, ServerSearch } from "./search.repository";
import type { CapabilityMatchConnection } from "./search.type";

/** Discovery for agents: find servers by capability and policy, and capabilities by name. */
export class SearchService {
  constructor(
    private readonly search: SearchRepository,
    private readonly servers: ServerQueries,
    private readonly usage: Pick<UsageRecorder, "record"> | null,
  ) {}

  /** Meters one search: what was asked and how many results this page returned. */
  private metered(principal: Principal, search: "servers" | "capabilities", filter: object, results: number): void {
    this.usage?.record({
      organizationId: principal.organizationId,
      userId: principal.userId,
      apiKeyId: principal.apiKeyId,
      kind: "discovery.search",
      quantity: 1,
      metadata: {
        search,
        filter: Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== null && v !== undefined)),
        results,
      },
    });
  }

  async findServers(
    principal: Principal,
    filter: ServerSearch,
    limit?: number | null,
    cursor?: string | null,
  ): Promise<McpServerConnection> {
    const take = pageSize(limit);
    const offset = decodeOffsetCursor(cursor);
    const ids = await this.search.servers(principal.organizationId, checkSearchText(filter), take, offset);
    const page = ids.slice(0, take);
    const rows = new Map(
      (await this.servers.findByIds(principal.organizationId, page, ALL_SERVER_FIELDS)).map((r) => [r.id, r]),
    );
    const items = page.flatMap((id) => {
      const row = rows.get(id);
      return row ? [toMcpServer(row)] : [];
    });
    this.metered(principal, "servers", filter, items.length);
    return { items, nextCursor: ids.length > take ? encodeOffsetCursor(offset + take) : null };
  }

  async findCapabilities(
    principal: Principal,
    filter: CapabilitySearch,
    limit?: number | null,
    cursor?: string | null,
  ): Promise<CapabilityMatchConnection> {
    checkSearchText(filter);
    const take = pageSize(limit, 200, 50);
    const offset = decodeOffsetCursor(cursor);
    if (filter.serverId && !isUuid(filter.serverId)) return { items: [], nextCursor: null };
    const hits = await this.search.capabilities(principal.organizationId, filter, take, offset);
    const page = hits.slice(0, take);
    const [capabilities, servers] = await Promise.all([
      this.search.capabilitiesByIds(page.map((h) => h.id)),
      this.servers.findByIds(principal.organizationId, [...new Set(page.map((h) => h.serverId))], ALL_SERVER_FIELDS),
    ]);
    const capabilityById = new Map(capabilities.map((c) => [c.id, c]));
    const serverById = new Map(servers.map((s) => [s.id, s]));
    const items = page.flatMap((hit) => {
      const capability = capabilityById.get(hit.id);
      const server = serverById.get(hit.serverId);
      return capability && server ? [{ capability: toMcpCapability(capability), server: toMcpServer(server) }] : [];
    });
    this.metered(principal, "capabilities", filter, items.length);
    return { items, nextCursor: hits.length > take ? encodeOffsetCursor(offset + take) : null };
  }
}

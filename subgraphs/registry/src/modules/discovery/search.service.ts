import {
  type CompiledPolicies,
  decodeOffsetCursor,
  encodeOffsetCursor,
  type PolicyDecision,
  type Principal,
  pageSize,
  type UsageRecorder,
} from "@sprintconnect/core";
import { isUuid } from "@sprintconnect/subgraph-kit";
import { toMcpCapability } from "../capabilities/capability.service";
import { ALL_SERVER_FIELDS, type ServerQueries } from "../servers/server.queries";
import { toMcpServer } from "../servers/server.service";
import type { CallerPolicies } from "../shared/caller-policies";
import { checkSearchText } from "../shared/search-text";
import type {
  CapabilitySearch,
  ExcludedCapabilityRow,
  ExcludedServerRow,
  SearchRepository,
  ServerSearch,
} from "./search.repository";
import type { CapabilityMatchConnection, DiscoveryExclusion, ServerDiscoveryConnection } from "./search.type";

/** How many exclusions `explain` lists at most. */
export const MAX_EXCLUSIONS = 100;

/**
 * Discovery for agents: find servers by capability and policy, and capabilities by name. Only
 * what the caller's `discover` policies allow is found (the condition is part of the search's
 * SQL); `explain` adds what the filters matched but the caller does not get, and why.
 */
export class SearchService {
  constructor(
    private readonly search: SearchRepository,
    private readonly servers: ServerQueries,
    private readonly policies: CallerPolicies,
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
    explain = false,
  ): Promise<ServerDiscoveryConnection> {
    const take = pageSize(limit);
    const offset = decodeOffsetCursor(cursor);
    checkSearchText(filter);
    const policies = await this.policies.compile(principal, "discover");
    const [ids, excluded] = await Promise.all([
      this.search.servers(principal.organizationId, filter, take, offset, policies),
      explain
        ? this.search
            .serverExclusions(principal.organizationId, filter, policies, MAX_EXCLUSIONS)
            .then((rows) => rows.map((row) => excludedServer(row, policies)))
        : null,
    ]);
    const page = ids.slice(0, take);
    const rows = new Map(
      (await this.servers.findByIds(principal.organizationId, page, ALL_SERVER_FIELDS)).map((r) => [r.id, r]),
    );
    const items = page.flatMap((id) => {
      const row = rows.get(id);
      return row ? [toMcpServer(row)] : [];
    });
    this.metered(principal, "servers", filter, items.length);
    return { items, nextCursor: ids.length > take ? encodeOffsetCursor(offset + take) : null, excluded };
  }

  async findCapabilities(
    principal: Principal,
    filter: CapabilitySearch,
    limit?: number | null,
    cursor?: string | null,
    explain = false,
  ): Promise<CapabilityMatchConnection> {
    checkSearchText(filter);
    const take = pageSize(limit, 200, 50);
    const offset = decodeOffsetCursor(cursor);
    if (filter.serverId && !isUuid(filter.serverId))
      return { items: [], nextCursor: null, excluded: explain ? [] : null };
    const policies = await this.policies.compile(principal, "discover");
    const [hits, excluded] = await Promise.all([
      this.search.capabilities(principal.organizationId, filter, take, offset, policies),
      explain
        ? this.search
            .capabilityExclusions(principal.organizationId, filter, policies, MAX_EXCLUSIONS)
            .then((rows) => rows.map((row) => excludedCapability(row, policies)))
        : null,
    ]);
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
    return { items, nextCursor: hits.length > take ? encodeOffsetCursor(offset + take) : null, excluded };
  }
}

/** The policy part of an exclusion: the deny policy, or the closed default (no allow matched). */
function byPolicy(decision: PolicyDecision): Pick<DiscoveryExclusion, "reason" | "policyId" | "policyName"> {
  if (decision.policy) return { reason: "policy", policyId: decision.policy.id, policyName: decision.policy.name };
  return { reason: "default_closed", policyId: null, policyName: null };
}

const NO_CAPABILITY = { capabilityId: null, capabilityName: null, capabilityKind: null };

export function excludedServer(row: ExcludedServerRow, policies: CompiledPolicies): DiscoveryExclusion {
  const base = { serverId: row.id, serverName: row.name, ...NO_CAPABILITY };
  if (row.status !== "active") return { ...base, reason: "server_inactive", policyId: null, policyName: null };
  return { ...base, ...byPolicy(policies.server(row)) };
}

export function excludedCapability(row: ExcludedCapabilityRow, policies: CompiledPolicies): DiscoveryExclusion {
  const base = {
    serverId: row.serverId,
    serverName: row.serverName,
    capabilityId: row.id,
    capabilityName: row.name,
    capabilityKind: row.kind,
    policyId: null,
    policyName: null,
  };
  if (row.status !== "active") return { ...base, reason: "server_inactive" };
  if (!row.enabled) return { ...base, reason: "capability_disabled" };
  if (row.reviewRequired) return { ...base, reason: "review_required" };
  return {
    ...base,
    ...byPolicy(policies.capability({ id: row.serverId, tags: row.tags, environment: row.environment }, row)),
  };
}

import { notFound, type Principal, pageSize, toPage } from "@sprintconnect/core";
import { isUuid } from "@sprintconnect/subgraph-kit";
import type { CapabilityChangeType } from "../changes/change.type";
import type { ServerQueries } from "../servers/server.queries";
import type { CallerPolicies } from "../shared/caller-policies";
import type { CapabilityKind, DiscoveryRunStatus } from "../shared/enums";
import type { HistoryQueries } from "./history.queries";
import type { CapabilityChangeRecordConnection, DiscoveryRun } from "./history.type";

/** What discovery found over time, and the state of each discovery job. */
export class HistoryService {
  constructor(
    private readonly history: HistoryQueries,
    private readonly servers: ServerQueries,
    private readonly policies: CallerPolicies,
  ) {}

  async changes(
    principal: Principal,
    serverId: string,
    limit?: number | null,
    cursor?: string | null,
  ): Promise<CapabilityChangeRecordConnection> {
    const take = pageSize(limit, 200, 50);
    if (
      !isUuid(serverId) ||
      !(await this.servers.exists(principal.organizationId, serverId, await this.policies.compile(principal, "read")))
    ) {
      throw notFound("MCP server");
    }
    const page = toPage(await this.history.changes(principal.organizationId, serverId, take, cursor), take);
    return {
      items: page.items.map((c) => ({
        id: c.id,
        serverId: c.serverId,
        capabilityId: c.capabilityId,
        discoveryRunId: c.discoveryRunId,
        kind: c.kind as CapabilityKind,
        name: c.name,
        changeType: c.changeType.toUpperCase() as CapabilityChangeType,
        previousHash: c.previousHash,
        newHash: c.newHash,
        createdAt: c.createdAt,
      })),
      nextCursor: page.nextCursor,
    };
  }

  async run(principal: Principal, id: string): Promise<DiscoveryRun> {
    const run = isUuid(id) ? await this.history.run(principal.organizationId, id) : null;
    if (!run) throw notFound("Discovery job");
    return {
      id: run.id,
      serverId: run.serverId,
      status: run.status as DiscoveryRunStatus,
      trigger: run.trigger,
      attempts: run.attempts,
      error: run.error,
      summary: (run.summary ?? null) as Record<string, unknown> | null,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
    };
  }
}

import {
  checkInput,
  forbidden,
  hasScopes,
  notFound,
  type Principal,
  type PrismaClient,
  pageSize,
  recordChange,
  toPage,
} from "@sprintconnect/core";
import { type Actor, isUuid, sourceOf } from "@sprintconnect/subgraph-kit";
import { z } from "zod";
import type { ServerQueries } from "../servers/server.queries";
import type { CallerPolicies } from "../shared/caller-policies";
import type { CapabilityKind } from "../shared/enums";
import type { UpdateMcpCapabilityInput } from "./capability.input";
import type { CapabilityQueries } from "./capability.queries";
import type { CapabilityRepository } from "./capability.repository";
import type { McpCapability, McpCapabilityConnection } from "./capability.type";

const updateRules = z.object({
  enabled: z.boolean().nullish(),
  reviewRequired: z.literal(false, "can only be set to false (reviewed)").nullish(),
  metadata: z
    .record(z.string(), z.unknown())
    .refine((v) => JSON.stringify(v).length <= 16_384, "must be at most 16 KiB as JSON")
    .nullish(),
});

export class CapabilityService {
  constructor(
    private readonly db: PrismaClient,
    private readonly capabilities: CapabilityRepository,
    private readonly queries: CapabilityQueries,
    private readonly servers: ServerQueries,
    private readonly policies: CallerPolicies,
  ) {}

  async listForServer(
    principal: Principal,
    serverId: string,
    kind?: CapabilityKind | null,
    limit?: number | null,
    cursor?: string | null,
  ): Promise<McpCapabilityConnection> {
    const take = pageSize(limit, 200, 50);
    if (
      !isUuid(serverId) ||
      !(await this.servers.exists(principal.organizationId, serverId, await this.policies.compile(principal, "read")))
    ) {
      throw notFound("MCP server");
    }
    const rows = await this.queries.listForServer(principal.organizationId, serverId, kind, take, cursor);
    const page = toPage(rows, take);
    return { items: page.items.map(toMcpCapability), nextCursor: page.nextCursor };
  }

  /**
   * Changes a capability's configuration. Clearing `reviewRequired` releases a held tool to
   * agents: that takes `capabilities:review` (owner, admin), not only `servers:write`, so the
   * developer who can change a server's address cannot also approve what it then offers.
   */
  /** Current capabilities of live servers by id, for entity references; missing or foreign ids are absent. */
  async getMany(principal: Principal, ids: readonly string[]): Promise<Map<string, McpCapability>> {
    const rows = await this.queries.findByIds(principal.organizationId, ids.filter(isUuid));
    return new Map(rows.map((r) => [r.id, toMcpCapability(r)]));
  }

  async update(actor: Actor, id: string, input: UpdateMcpCapabilityInput): Promise<McpCapability> {
    const data = checkInput(updateRules, input);
    const { principal } = actor;
    if (data.reviewRequired === false && !hasScopes(principal, ["capabilities:review"])) {
      throw forbidden("Clearing reviewRequired needs the scope capabilities:review");
    }
    const row = await this.db.$transaction(async (tx) => {
      const before = isUuid(id) ? await this.capabilities.findById(principal.organizationId, id, tx) : null;
      if (!before) throw notFound("Capability");
      const updated = await this.capabilities.update(tx, before.id, {
        ...(typeof data.enabled === "boolean" ? { enabled: data.enabled } : {}),
        ...(data.reviewRequired === false ? { reviewRequired: false } : {}),
        ...(data.metadata ? { metadata: data.metadata as object } : {}),
      });
      await recordChange(tx, sourceOf(actor), {
        organizationId: principal.organizationId,
        type: "capability.updated",
        targetType: "mcp_capability",
        targetId: before.id,
        data: {
          before: { enabled: before.enabled, reviewRequired: before.reviewRequired, metadata: before.metadata },
          after: { enabled: updated.enabled, reviewRequired: updated.reviewRequired, metadata: updated.metadata },
        },
        payload: { capabilityId: before.id, serverId: before.serverId, enabled: updated.enabled },
      });
      return updated;
    });
    return toMcpCapability(row);
  }
}

/** What a capability is made from: a Prisma row (mutations, search) or a read-model record (queries). */
export interface CapabilityRecord {
  id: string;
  serverId: string;
  kind: string;
  name: string;
  title: string | null;
  description: string | null;
  inputSchema: unknown;
  definition: unknown;
  definitionHash: string;
  enabled: boolean;
  reviewRequired: boolean;
  metadata: unknown;
  createdAt: Date;
  updatedAt: Date;
}

export function toMcpCapability(row: CapabilityRecord): McpCapability {
  return {
    id: row.id,
    serverId: row.serverId,
    kind: row.kind as CapabilityKind,
    name: row.name,
    title: row.title,
    description: row.description,
    inputSchema: (row.inputSchema ?? null) as Record<string, unknown> | null,
    definition: row.definition as Record<string, unknown>,
    definitionHash: row.definitionHash,
    enabled: row.enabled,
    reviewRequired: row.reviewRequired,
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

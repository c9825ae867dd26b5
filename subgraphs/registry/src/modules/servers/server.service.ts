import {
  AppError,
  checkInput,
  type Db,
  ErrorCode,
  type McpServer as McpServerRow,
  notFound,
  type Principal,
  type PrismaClient,
  pageSize,
  recordChange,
  toPage,
} from "@sprintconnect/core";
import { type Actor, isUuid, sourceOf } from "@sprintconnect/subgraph-kit";
import type { DiscoveryStatus, HealthStatus, McpEnvironment, McpServerStatus, McpTransport } from "../shared/enums";
import type { RegisterMcpServerInput, UpdateMcpServerInput } from "./server.input";
import type { ServerListFilter, ServerRepository } from "./server.repository";
import { registerRules, updateRules } from "./server.rules";
import type { McpServer, McpServerConnection } from "./server.type";

/** Registry rules for MCP servers: validation, name uniqueness, audit and events. */
export class ServerService {
  constructor(
    private readonly db: PrismaClient,
    private readonly servers: ServerRepository,
  ) {}

  async list(
    principal: Principal,
    filter: ServerListFilter,
    limit?: number | null,
    cursor?: string | null,
  ): Promise<McpServerConnection> {
    const take = pageSize(limit);
    const rows = await this.servers.list(principal.organizationId, filter, take, cursor);
    const page = toPage(rows, take);
    return { items: page.items.map(toMcpServer), nextCursor: page.nextCursor };
  }

  async get(principal: Principal, id: string): Promise<McpServer> {
    return toMcpServer(await this.require(principal.organizationId, id));
  }

  /** Servers by id for entity references; missing or foreign ids are simply absent. */
  async getMany(principal: Principal, ids: readonly string[]): Promise<Map<string, McpServer>> {
    const rows = await this.servers.findByIds(principal.organizationId, ids.filter(isUuid));
    return new Map(rows.map((r) => [r.id, toMcpServer(r)]));
  }

  async register(actor: Actor, input: RegisterMcpServerInput): Promise<McpServer> {
    const data = checkInput(registerRules, input);
    const { organizationId } = actor.principal;
    const row = await this.db.$transaction(async (tx) => {
      await this.assertNameFree(tx, organizationId, data.name);
      const created = await this.servers.create(tx, {
        organizationId,
        name: data.name,
        description: data.description ?? null,
        baseUrl: data.baseUrl,
        transport: input.transport ?? "streamable_http",
        environment: input.environment ?? "development",
        tags: data.tags,
        metadata: data.metadata as object,
        createdByUserId: actor.principal.userId,
      });
      await record(tx, actor, "server.registered", created, { after: auditView(created) });
      return created;
    });
    return toMcpServer(row);
  }

  async update(actor: Actor, id: string, input: UpdateMcpServerInput): Promise<McpServer> {
    const data = checkInput(updateRules, input);
    const { organizationId } = actor.principal;
    const row = await this.db.$transaction(async (tx) => {
      const before = await this.require(organizationId, id, tx);
      if (data.name && data.name.toLowerCase() !== before.name.toLowerCase()) {
        await this.assertNameFree(tx, organizationId, data.name);
      }
      const updated = await this.servers.update(tx, before.id, {
        ...(data.name ? { name: data.name } : {}),
        ...(data.description !== undefined ? { description: data.description } : {}),
        ...(data.baseUrl ? { baseUrl: data.baseUrl } : {}),
        ...(input.transport ? { transport: input.transport } : {}),
        ...(input.environment ? { environment: input.environment } : {}),
        ...(data.tags ? { tags: data.tags } : {}),
        ...(data.metadata ? { metadata: data.metadata as object } : {}),
        ...(input.status ? { status: input.status } : {}),
      });
      await record(tx, actor, "server.updated", updated, { before: auditView(before), after: auditView(updated) });
      return updated;
    });
    return toMcpServer(row);
  }

  /** Soft delete: the server leaves lists and reads; its row, capabilities and history stay. */
  async deregister(actor: Actor, id: string): Promise<McpServer> {
    const { organizationId } = actor.principal;
    const row = await this.db.$transaction(async (tx) => {
      const before = await this.require(organizationId, id, tx);
      const deleted = await this.servers.update(tx, before.id, { deletedAt: new Date(), status: "inactive" });
      await record(tx, actor, "server.deregistered", deleted, { before: auditView(before) });
      return deleted;
    });
    return toMcpServer(row);
  }

  private async require(organizationId: string, id: string, db?: Db): Promise<McpServerRow> {
    const row = isUuid(id) ? await this.servers.findById(organizationId, id, db) : null;
    if (!row) throw notFound("MCP server");
    return row;
  }

  private async assertNameFree(tx: Db, organizationId: string, name: string): Promise<void> {
    await this.servers.lockNames(tx, organizationId);
    if (await this.servers.findByName(organizationId, name, tx)) {
      throw new AppError(ErrorCode.CONFLICT, `A server named "${name}" is already registered`, { field: "name" });
    }
  }
}

/** Audit entry and outbox event of a server change, in the caller's transaction. */
function record(
  tx: Db,
  actor: Actor,
  type: "server.registered" | "server.updated" | "server.deregistered",
  server: McpServerRow,
  data: Record<string, unknown>,
): Promise<void> {
  return recordChange(tx, sourceOf(actor), {
    organizationId: actor.principal.organizationId,
    type,
    targetType: "mcp_server",
    targetId: server.id,
    data,
    payload: { serverId: server.id, name: server.name, environment: server.environment, tags: server.tags },
  });
}

function auditView(row: McpServerRow): Record<string, unknown> {
  return {
    name: row.name,
    description: row.description,
    baseUrl: row.baseUrl,
    transport: row.transport,
    environment: row.environment,
    tags: row.tags,
    metadata: row.metadata,
    status: row.status,
  };
}

export function toMcpServer(row: McpServerRow): McpServer {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    baseUrl: row.baseUrl,
    transport: row.transport as McpTransport,
    environment: row.environment as McpEnvironment,
    tags: row.tags,
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    status: row.status as McpServerStatus,
    health: { status: row.healthStatus as HealthStatus, lastCheckedAt: row.lastHealthCheckAt },
    discovery: {
      status: row.discoveryStatus as DiscoveryStatus,
      lastDiscoveredAt: row.lastDiscoveredAt,
      error: row.discoveryError,
    },
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

import {
  AppError,
  checkInput,
  credentialOrigin,
  type Db,
  ErrorCode,
  type Logger,
  notFound,
  type Principal,
  type PrismaClient,
  pageSize,
  precheckEgress,
  recordChange,
  type SecretStore,
  serverCredentialRef,
  toPage,
  type UsageRecorder,
  withSecretTransaction,
} from "@sprintconnect/core";
import { type Actor, isUuid, sourceOf } from "@sprintconnect/subgraph-kit";
import type { CallerPolicies } from "../shared/caller-policies";
import type {
  CredentialKind,
  DiscoveryStatus,
  HealthStatus,
  McpEnvironment,
  McpServerStatus,
  McpTransport,
} from "../shared/enums";
import { checkSearchText } from "../shared/search-text";
import type { RegisterMcpServerInput, UpdateMcpServerInput } from "./server.input";
import { ALL_SERVER_FIELDS, type ServerListFilter, type ServerQueries } from "./server.queries";
import type { McpServerRow, ServerRepository } from "./server.repository";
import { credentialsRules, registerRules, updateRules } from "./server.rules";
import type { McpServer, McpServerConnection, McpServerHealthReport } from "./server.type";

/** Registry rules for MCP servers: validation, name uniqueness, audit and events. */
/** What the registry needs beyond the database. */
export interface RegistryDeps {
  /** Checks a server URL against ALLOWED_EGRESS_HOSTS (the worker's guard, used here to refuse early). */
  egress: { check(url: string): Promise<unknown> };
  secrets: SecretStore;
  /** Queues a discovery for a server; null where no queue is configured. */
  requestDiscovery: ((request: DiscoveryRequestInput) => Promise<DiscoveryRequested>) | null;
  logger: Logger;
  /** Live servers one organization may have (MAX_SERVERS_PER_ORGANIZATION). */
  maxServersPerOrganization: number;
  /** Where discovery searches are metered; null when USAGE_RECORDING is off. */
  usage?: Pick<UsageRecorder, "record"> | null;
  /** POLICY_CACHE_TTL_SECONDS (`CallerPolicies`); its default when absent. */
  policyCacheTtlSeconds?: number;
  /**
   * Reads an organization's access epoch (`readAccessEpoch` on Redis), for live subscriptions'
   * policies (`LivePolicies`); without it they read the database at every look.
   */
  accessEpoch?: (organizationId: string) => Promise<number>;
}

export interface DiscoveryRequestInput {
  organizationId: string;
  serverId: string;
  trigger: "manual" | "registration" | "update" | "schedule";
  userId?: string | null;
}

export interface DiscoveryRequested {
  runId: string;
  serverId: string;
  status: "pending" | "running" | "succeeded" | "failed";
}

/**
 * Reads (the query resolvers and entity references) go through {@link ServerQueries} (Kysely);
 * mutations, and the reads inside their transactions, through {@link ServerRepository} (Prisma).
 */
export class ServerService {
  constructor(
    private readonly db: PrismaClient,
    private readonly servers: ServerRepository,
    private readonly queries: ServerQueries,
    private readonly deps: RegistryDeps,
    private readonly policies: CallerPolicies,
  ) {}

  /** A page of servers; `fields` are the `McpServer` fields the operation selects. */
  async list(
    principal: Principal,
    filter: ServerListFilter,
    limit: number | null | undefined,
    cursor: string | null | undefined,
    fields: ReadonlySet<string> = ALL_SERVER_FIELDS,
  ): Promise<McpServerConnection> {
    const take = pageSize(limit);
    const policies = await this.policies.compile(principal, "read");
    const rows = await this.queries.list(
      principal.organizationId,
      checkSearchText(filter),
      take,
      cursor,
      fields,
      policies,
    );
    const page = toPage(rows, take);
    return { items: page.items.map(toMcpServer), nextCursor: page.nextCursor };
  }

  async get(principal: Principal, id: string, fields: ReadonlySet<string> = ALL_SERVER_FIELDS): Promise<McpServer> {
    // A server the caller's policies do not let it read is absent, like another tenant's.
    const row = isUuid(id)
      ? await this.queries.findById(
          principal.organizationId,
          id,
          fields,
          await this.policies.compile(principal, "read"),
        )
      : null;
    if (!row) throw notFound("MCP server");
    return toMcpServer(row);
  }

  /** Current state, the last check and the `historySize` most recent raw results. */
  async health(principal: Principal, id: string, historySize = 20): Promise<McpServerHealthReport> {
    const row = isUuid(id)
      ? await this.queries.health(principal.organizationId, id, await this.policies.compile(principal, "read"))
      : undefined;
    if (!row) throw notFound("MCP server");
    const history = await this.queries.recentHealthChecks(row.id, historySize);
    return {
      serverId: row.id,
      status: row.healthStatus as HealthStatus,
      lastCheckedAt: row.lastHealthCheckAt,
      latencyMs: row.healthLatencyMs,
      reason: row.healthReason,
      pendingStatus: (row.healthCandidate ?? null) as HealthStatus | null,
      pendingCount: row.healthCandidateRun,
      history: history.map((h) => ({
        result: h.result as HealthStatus,
        latencyMs: h.latencyMs,
        error: h.error,
        checkedAt: h.checkedAt,
      })),
    };
  }

  /** Servers by id for entity references; missing or foreign ids are simply absent. */
  async getMany(principal: Principal, ids: readonly string[]): Promise<Map<string, McpServer>> {
    const rows = await this.queries.findByIds(principal.organizationId, ids.filter(isUuid), ALL_SERVER_FIELDS);
    return new Map(rows.map((r) => [r.id, toMcpServer(r)]));
  }

  async register(actor: Actor, input: RegisterMcpServerInput): Promise<McpServer> {
    const data = checkInput(registerRules, input);
    const credentials = input.credentials ? checkInput(credentialsRules, input.credentials) : null;
    await this.checkEgress(data.baseUrl);
    const { organizationId } = actor.principal;
    const row = await withSecretTransaction(this.db, this.deps.secrets, async (tx, secrets) => {
      await this.assertNameFree(tx, organizationId, data.name);
      await this.assertBelowServerLimit(tx, organizationId);
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
      if (credentials) await this.storeCredentials(tx, secrets, created, credentials);
      await record(tx, actor, "server.registered", created, {
        after: auditView(created),
        credentials: credentials ? credentialKind(credentials) : null,
      });
      return created;
    });
    // After the commit: a queue outage leaves the run pending, and the scheduler re-queues it.
    await this.startDiscovery(actor, row.id, "registration").catch((err: unknown) =>
      this.deps.logger.warn({ err, serverId: row.id }, "could not queue the first discovery"),
    );
    // Read once more: the discovery status and any credential metadata changed since `create`.
    return toMcpServer((await this.servers.findById(organizationId, row.id)) ?? row);
  }

  /** Queues a discovery (202 in REST); a discovery already pending or running is returned instead. */
  async discover(actor: Actor, id: string): Promise<DiscoveryRequested> {
    const server = await this.require(actor.principal.organizationId, id);
    if (server.status !== "active") {
      throw new AppError(ErrorCode.CONFLICT, "The server is inactive; activate it before discovering it");
    }
    return this.startDiscovery(actor, server.id, "manual");
  }

  private async startDiscovery(
    actor: Actor,
    serverId: string,
    trigger: "manual" | "registration" | "update",
  ): Promise<DiscoveryRequested> {
    if (!this.deps.requestDiscovery) {
      throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "Discovery is not available: no job queue is configured");
    }
    return this.deps.requestDiscovery({
      organizationId: actor.principal.organizationId,
      serverId,
      trigger,
      userId: actor.principal.userId,
    });
  }

  /** Refuses a URL the egress guard refuses; a host that does not resolve from here is accepted. */
  private checkEgress(url: string): Promise<void> {
    return precheckEgress(this.deps.egress, url);
  }

  /**
   * Replaces (or, with null, removes) a server's credentials, bound to the origin of its URL.
   * The secret is written with the row: through `secrets` of {@link withSecretTransaction}.
   */
  private async storeCredentials(
    tx: Db,
    secrets: SecretStore,
    server: { id: string; organizationId: string; baseUrl: string },
    credentials: { bearerToken?: string | null; headers?: Record<string, string> | null } | null,
  ): Promise<void> {
    const ref = serverCredentialRef(server.id);
    if (!credentials) {
      await this.servers.setCredential(tx, server, null);
      await secrets.delete(ref, tx);
      return;
    }
    const kind = credentialKind(credentials);
    const value = credentials.bearerToken ?? JSON.stringify(credentials.headers);
    await this.servers.setCredential(tx, server, {
      kind,
      secretRef: ref,
      origin: credentialOrigin(server.baseUrl),
      headerNames: credentials.headers ? Object.keys(credentials.headers).map((h) => h.toLowerCase()) : [],
    });
    await secrets.put(ref, value, tx);
  }

  /**
   * Changes a server. Credentials are bound to the origin of the URL they were stored for: a
   * new origin without new `credentials` in the same request drops them (the result says
   * `credentialsDropped`, the audit entry too), or is refused with CREDENTIALS_REQUIRED when
   * the caller asked to `keepCredentials`.
   */
  async update(actor: Actor, id: string, input: UpdateMcpServerInput): Promise<McpServer> {
    const data = checkInput(updateRules, input);
    const credentials =
      input.credentials === undefined
        ? undefined
        : input.credentials === null
          ? null
          : checkInput(credentialsRules, input.credentials);
    if (data.baseUrl) await this.checkEgress(data.baseUrl);
    const { organizationId } = actor.principal;
    const result = await withSecretTransaction(this.db, this.deps.secrets, async (tx, secrets) => {
      const before = await this.require(organizationId, id, tx);
      if (data.name && data.name.toLowerCase() !== before.name.toLowerCase()) {
        await this.assertNameFree(tx, organizationId, data.name);
      }
      const stored = before.credentials[0];
      const moved = data.baseUrl ? credentialOrigin(data.baseUrl) !== credentialOrigin(before.baseUrl) : false;
      const dropCredentials = moved && stored !== undefined && credentials === undefined;
      if (dropCredentials && input.keepCredentials) {
        throw new AppError(
          ErrorCode.CREDENTIALS_REQUIRED,
          `The server's credentials were stored for ${stored.origin}; moving it to ${credentialOrigin(data.baseUrl as string)} needs new credentials in the same request`,
          { field: "credentials", origin: stored.origin },
        );
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
      if (credentials !== undefined || dropCredentials) {
        await this.storeCredentials(tx, secrets, updated, credentials ?? null);
      }
      await record(tx, actor, "server.updated", updated, {
        before: auditView(before),
        after: auditView(updated),
        ...(credentials !== undefined ? { credentials: credentials ? credentialKind(credentials) : "removed" } : {}),
        ...(dropCredentials
          ? { credentials: "dropped", credentialsDropped: true, credentialsOrigin: stored.origin }
          : {}),
      });
      const reconnect =
        updated.baseUrl !== before.baseUrl ||
        updated.transport !== before.transport ||
        credentials !== undefined ||
        dropCredentials;
      return { row: updated, reconnect, dropCredentials };
    });
    const done = (row: McpServerRow) => ({ ...toMcpServer(row), credentialsDropped: result.dropCredentials });
    if (!result.reconnect) return done(result.row);
    // A new address, transport or credentials may change what the server offers: look again.
    if (result.row.status === "active") {
      await this.startDiscovery(actor, result.row.id, "update").catch((err: unknown) =>
        this.deps.logger.warn({ err, serverId: result.row.id }, "could not queue a discovery after the update"),
      );
    }
    // Read once more: the discovery status and any credential metadata changed since `update`.
    return done((await this.servers.findById(organizationId, result.row.id)) ?? result.row);
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

  /** Runs under `assertNameFree`'s lock, so concurrent registrations cannot pass the limit together. */
  private async assertBelowServerLimit(tx: Db, organizationId: string): Promise<void> {
    const limit = this.deps.maxServersPerOrganization;
    if ((await this.servers.countLive(tx, organizationId)) >= limit) {
      throw new AppError(
        ErrorCode.LIMIT_EXCEEDED,
        `The organization already has ${limit} servers, the most allowed; deregister one first`,
        { limit, setting: "MAX_SERVERS_PER_ORGANIZATION" },
      );
    }
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

function credentialKind(credentials: { bearerToken?: string | null }): "bearer" | "headers" {
  return credentials.bearerToken ? "bearer" : "headers";
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

/**
 * What a server is made from: a Prisma row with its credentials (mutations) or a read-model
 * record (queries, which leave out what the operation did not select).
 */
export interface ServerRecord {
  id: string;
  name: string;
  description: string | null;
  baseUrl: string;
  transport: string;
  environment: string;
  tags: string[];
  metadata: unknown;
  status: string;
  healthStatus: string;
  lastHealthCheckAt: Date | null;
  healthLatencyMs: number | null;
  discoveryStatus: string;
  lastDiscoveredAt: Date | null;
  discoveryError: string | null;
  protocolVersion: string | null;
  serverInfo: unknown;
  serverCapabilities: unknown;
  instructions: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** Absent when the operation did not select `credentials`. */
  credentials?: Array<{ kind: string; headerNames: string[]; origin: string; updatedAt: Date }>;
}

export function toMcpServer(row: ServerRecord): McpServer {
  const credential = row.credentials?.[0];
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    baseUrl: row.baseUrl,
    transport: row.transport as McpTransport,
    environment: row.environment as McpEnvironment,
    // A NULL list (a row written without it) reads as [] here, as Prisma reads it.
    tags: row.tags ?? [],
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    status: row.status as McpServerStatus,
    health: {
      status: row.healthStatus as HealthStatus,
      lastCheckedAt: row.lastHealthCheckAt,
      latencyMs: row.healthLatencyMs,
    },
    discovery: {
      status: row.discoveryStatus as DiscoveryStatus,
      lastDiscoveredAt: row.lastDiscoveredAt,
      error: row.discoveryError,
      protocolVersion: row.protocolVersion,
      serverInfo: (row.serverInfo ?? null) as Record<string, unknown> | null,
      capabilities: (row.serverCapabilities ?? null) as Record<string, unknown> | null,
      instructions: row.instructions,
    },
    credentials: credential
      ? {
          kind: credential.kind as CredentialKind,
          headerNames: credential.headerNames ?? [],
          origin: credential.origin,
          updatedAt: credential.updatedAt,
        }
      : null,
    credentialsDropped: false,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

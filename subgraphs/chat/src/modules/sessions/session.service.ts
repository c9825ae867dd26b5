import {
  type ChatSession as ChatSessionRow,
  checkInput,
  type Db,
  notFound,
  type Principal,
  type PrismaClient,
  pageSize,
  recordChange,
  toPage,
  validationFailed,
} from "@sprintconnect/core";
import { type Actor, isUuid, sourceOf } from "@sprintconnect/subgraph-kit";
import type { ServerRepository } from "../servers/server.repository";
import type { ChatSessionStatus } from "../shared/enums";
import type { CreateChatSessionInput } from "./session.input";
import type { SessionRepository } from "./session.repository";
import { createRules } from "./session.rules";
import type { ChatSession, ChatSessionConnection } from "./session.type";

/**
 * Rules for chat sessions. A session belongs to the user who created it: other users of the
 * organization neither list nor read nor delete it (NOT_FOUND, as for another organization).
 */
export class SessionService {
  constructor(
    private readonly db: PrismaClient,
    private readonly sessions: SessionRepository,
    private readonly servers: ServerRepository,
  ) {}

  async list(principal: Principal, limit?: number | null, cursor?: string | null): Promise<ChatSessionConnection> {
    const take = pageSize(limit);
    const rows = await this.sessions.listOwn(principal.organizationId, principal.userId, take, cursor);
    const page = toPage(rows, take);
    return { items: await this.present(principal, page.items), nextCursor: page.nextCursor };
  }

  async get(principal: Principal, id: string): Promise<ChatSession> {
    const row = await this.require(principal, id);
    const [session] = await this.present(principal, [row]);
    return session!;
  }

  /** A session for an entity reference: null when absent or not the caller's. */
  async find(principal: Principal, id: string): Promise<ChatSession | null> {
    const row = isUuid(id) ? await this.sessions.findOwn(principal.organizationId, principal.userId, id) : null;
    if (!row) return null;
    const [session] = await this.present(principal, [row]);
    return session ?? null;
  }

  async create(actor: Actor, input: CreateChatSessionInput): Promise<ChatSession> {
    const data = checkInput(createRules, input);
    const { principal } = actor;
    const row = await this.db.$transaction(async (tx) => {
      await this.assertServersVisible(tx, principal, data.serverIds);
      const created = await this.sessions.create(tx, {
        organizationId: principal.organizationId,
        userId: principal.userId,
        apiKeyId: principal.apiKeyId,
        title: data.title ?? `Chat ${new Date().toISOString()}`,
        serverIds: data.serverIds,
        model: data.model ?? null,
      });
      await record(tx, actor, "chat.session.created", created, { after: auditView(created) });
      return created;
    });
    return toChatSession(row, new Set(row.serverIds));
  }

  /** Hard delete: the session, its turns, messages and tool calls are gone. */
  async delete(actor: Actor, id: string): Promise<boolean> {
    const { principal } = actor;
    await this.db.$transaction(async (tx) => {
      const before = await this.require(principal, id, tx);
      if (!(await this.sessions.delete(tx, principal.organizationId, before.id))) throw notFound("Chat session");
      await record(tx, actor, "chat.session.deleted", before, { before: auditView(before) });
    });
    return true;
  }

  /** The caller's own session; NOT_FOUND otherwise (also for another organization's). */
  async require(principal: Principal, id: string, db?: Db): Promise<ChatSessionRow> {
    const row = isUuid(id) ? await this.sessions.findOwn(principal.organizationId, principal.userId, id, db) : null;
    if (!row) throw notFound("Chat session");
    return row;
  }

  /**
   * Every id must be a live server of the organization that the caller may read; the error
   * names those that are not (a server hidden by policy is as unknown as a missing one).
   */
  private async assertServersVisible(tx: Db, principal: Principal, ids: readonly string[]): Promise<void> {
    const live = await this.servers.findVisibleIds(principal, ids.filter(isUuid), tx);
    const unknown = ids.filter((id) => !live.has(id));
    if (unknown.length > 0) {
      const message = `no registered MCP server with id ${unknown.join(", ")}`;
      throw validationFailed(`serverIds: ${message}`, {
        fields: [{ field: "serverIds", message }],
        serverIds: unknown,
      });
    }
  }

  /** Sessions with the references of the servers the caller may read, in one query for the whole page. */
  private async present(principal: Principal, rows: readonly ChatSessionRow[]): Promise<ChatSession[]> {
    const live = await this.servers.findVisibleIds(principal, [...new Set(rows.flatMap((r) => r.serverIds))]);
    return rows.map((row) => toChatSession(row, live));
  }
}

/** Audit entry and outbox event of a session change, in the caller's transaction. */
function record(
  tx: Db,
  actor: Actor,
  type: "chat.session.created" | "chat.session.deleted",
  session: ChatSessionRow,
  data: Record<string, unknown>,
): Promise<void> {
  return recordChange(tx, sourceOf(actor), {
    organizationId: actor.principal.organizationId,
    type,
    targetType: "chat_session",
    targetId: session.id,
    data,
    payload: { sessionId: session.id, userId: session.userId, title: session.title, serverIds: session.serverIds },
  });
}

function auditView(row: ChatSessionRow): Record<string, unknown> {
  return { title: row.title, status: row.status, serverIds: row.serverIds, userId: row.userId, apiKeyId: row.apiKeyId };
}

/**
 * `servers` holds references only to servers still registered: the registry resolves a
 * deregistered server to null, which a non-null list cannot carry.
 */
export function toChatSession(row: ChatSessionRow, liveServerIds: ReadonlySet<string>): ChatSession {
  return {
    id: row.id,
    title: row.title,
    status: row.status as ChatSessionStatus,
    serverIds: row.serverIds,
    model: row.model,
    activeTurnId: row.activeTurnId,
    servers: row.serverIds.filter((id) => liveServerIds.has(id)).map((id) => ({ id })),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

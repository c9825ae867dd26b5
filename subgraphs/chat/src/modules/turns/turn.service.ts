import {
  AppError,
  budgetRefusal,
  type ChatControl,
  type ChatEventLog,
  type ChatTurn as ChatTurnRow,
  chatControlChannel,
  checkInput,
  type Db,
  ErrorCode,
  type Logger,
  notFound,
  type PrismaClient,
  type Redis,
  recordChange,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
} from "@sprintconnect/core";
import { chatTurnJob, type JobQueues } from "@sprintconnect/jobs";
import { type Actor, isUuid, sourceOf } from "@sprintconnect/subgraph-kit";
import { toChatMessage, toChatToolCall } from "../messages/message.present";
import type { MessageRepository } from "../messages/message.repository";
import type { ChatToolCall } from "../messages/message.type";
import type { SessionService } from "../sessions/session.service";
import type { ChatTurnStatus } from "../shared/enums";
import type { ResolveToolApprovalInput, SendChatMessageInput } from "./turn.input";
import type { TurnRepository } from "./turn.repository";
import { sendRules } from "./turn.rules";
import type { ChatTurn } from "./turn.type";

/** What turns need beside the database: the queue, the event log, a publisher, the limits. */
export interface ChatRuntime {
  queues: JobQueues;
  events: ChatEventLog;
  /** Publishes control messages to the worker running a turn. */
  publisher: Redis;
  maxMessageChars: number;
  maxConcurrentTurnsPerOrg: number;
  logger: Logger;
}

/**
 * Rules for chat turns: one turn at a time per session, a cap per organization, the message
 * length limit; cancel and approvals reach the worker through the turn's control channel.
 */
export class TurnService {
  constructor(
    private readonly db: PrismaClient,
    private readonly sessions: SessionService,
    private readonly turns: TurnRepository,
    private readonly messages: MessageRepository,
    private readonly runtime: ChatRuntime,
  ) {}

  /** Stores the user message, starts a turn and queues it; CONFLICT while another turn runs. */
  async send(actor: Actor, sessionId: string, input: SendChatMessageInput): Promise<ChatTurn> {
    const { content } = checkInput(sendRules(this.runtime.maxMessageChars), input);
    const { principal } = actor;
    // Independent reads: the session (NOT_FOUND) and the organization's hard budget, which
    // refuses new turns (the scheduler records when a budget is used up).
    const [session, overBudget] = await Promise.all([
      this.sessions.require(principal, sessionId),
      budgetRefusal(this.db, principal.organizationId),
    ]);
    if (overBudget) throw overBudget;
    const { turn, message } = await this.startTurn(async (tx) => {
      await this.turns.lockOrganization(tx, principal.organizationId);
      const started = await this.turns.start(tx, {
        organizationId: principal.organizationId,
        sessionId: session.id,
        userId: principal.userId,
        apiKeyId: principal.apiKeyId,
        model: session.model,
        content,
        maxActive: this.runtime.maxConcurrentTurnsPerOrg,
      });
      if (started.outcome === "at_cap") {
        throw new AppError(
          ErrorCode.RATE_LIMITED,
          `At most ${this.runtime.maxConcurrentTurnsPerOrg} chat turns may run at once in an organization`,
          { retryAfter: 1, limit: this.runtime.maxConcurrentTurnsPerOrg },
        );
      }
      if (started.outcome === "busy") {
        throw new AppError(ErrorCode.CONFLICT, "A turn is already running in this session; wait for it or cancel it", {
          sessionId: session.id,
        });
      }
      const { turn, message } = started;
      await recordChange(tx, sourceOf(actor), {
        organizationId: principal.organizationId,
        type: "chat.message.sent",
        targetType: "chat_turn",
        targetId: turn.id,
        data: { sessionId: session.id, messageId: message.id, characters: content.length },
        payload: { sessionId: session.id, turnId: turn.id, messageId: message.id },
      });
      return { turn, message };
    });
    try {
      await this.runtime.queues.enqueue(
        chatTurnJob,
        { turnId: turn.id, sessionId: session.id, organizationId: principal.organizationId },
        { jobId: turn.id },
      );
    } catch (err) {
      await this.unqueue(turn, err);
      throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "Chat is unavailable; retry later", {
        retryAfter: UNAVAILABLE_RETRY_AFTER_SECONDS,
        cause: (err as Error).name,
      });
    }
    return toChatTurn(turn, toChatMessage(message));
  }

  /**
   * Runs the turn-starting transaction. Starts are serialized per organization (the cap, the
   * audit chain), so a burst waits its turn. A wait longer than the transaction allows (P2028),
   * like every failure of a database too busy to answer (no free connection, a statement or lock
   * timeout, a deadlock), is SERVICE_UNAVAILABLE with `retryAfter` (`isDatabaseUnavailable`,
   * formatted once by the subgraph kit), never INTERNAL; nothing of the turn is written then.
   */
  private startTurn<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    return this.db.$transaction(work, { maxWait: 10_000, timeout: 20_000 });
  }

  /**
   * A turn whose job could not be queued fails and frees its session in one transaction, so the
   * session takes the next message. If the database cannot do even that, the turn stays queued
   * with its session held until `cancelChatTurn` ends it (logged); the caller is told
   * SERVICE_UNAVAILABLE either way.
   */
  private async unqueue(turn: ChatTurnRow, cause: unknown): Promise<void> {
    try {
      await this.db.$transaction(async (tx) => {
        await this.turns.transition(tx, turn.id, ["queued"], {
          status: "failed",
          error: "could not be queued",
          finishedAt: new Date(),
        });
        await this.turns.releaseSession(tx, turn.sessionId, turn.id);
      });
    } catch (err) {
      this.runtime.logger.error({ err, cause, turnId: turn.id }, "chat: a turn that could not be queued stays queued");
    }
  }

  /**
   * Stops the session's running turn: a queued one ends at once, a running one is told through
   * its control channel (the worker keeps the partial answer, marked partial). CONFLICT when no
   * turn is running.
   */
  async cancel(actor: Actor, sessionId: string): Promise<ChatTurn> {
    const { principal } = actor;
    const session = await this.sessions.require(principal, sessionId);
    const turnId = session.activeTurnId;
    const turn = turnId ? await this.turns.find(principal.organizationId, turnId) : null;
    if (!turn) throw new AppError(ErrorCode.CONFLICT, "No turn is running in this session");
    const now = new Date();
    const cancelledQueued = await this.db.$transaction(async (tx) => {
      const done = await this.turns.transition(tx, turn.id, ["queued"], {
        status: "cancelled",
        cancelRequestedAt: now,
        finishedAt: now,
      });
      if (done) await this.turns.releaseSession(tx, session.id, turn.id);
      else await this.turns.transition(tx, turn.id, ["running"], { cancelRequestedAt: now });
      await recordChange(tx, sourceOf(actor), {
        organizationId: principal.organizationId,
        type: "chat.turn.cancelled",
        targetType: "chat_turn",
        targetId: turn.id,
        data: { sessionId: session.id },
        payload: { sessionId: session.id, turnId: turn.id },
      });
      return done;
    });
    if (cancelledQueued) {
      // The cancel is stored: Redis failing now loses the `done` event (the turn reads cancelled),
      // and must not answer an error for a cancel that took place.
      await this.runtime.events
        .publish({
          sessionId: session.id,
          organizationId: principal.organizationId,
          turnId: turn.id,
          type: "done",
          status: "cancelled",
        })
        .catch((err: unknown) => this.runtime.logger.warn({ err, turnId: turn.id }, "chat: cannot publish done"));
    } else {
      await this.control(turn.id, { type: "cancel" });
    }
    const latest = (await this.turns.find(principal.organizationId, turn.id)) ?? turn;
    return toChatTurn(latest, null);
  }

  /** Approves or denies a tool call that waits for a person; CONFLICT when it is not waiting. */
  async resolveApproval(
    actor: Actor,
    sessionId: string,
    toolCallId: string,
    input: ResolveToolApprovalInput,
  ): Promise<ChatToolCall> {
    const { principal } = actor;
    const session = await this.sessions.require(principal, sessionId);
    const call = isUuid(toolCallId)
      ? await this.messages.findToolCall(principal.organizationId, session.id, toolCallId)
      : null;
    if (!call) throw notFound("Tool call");
    const approve = input.approve === true;
    await this.db.$transaction(async (tx: Db) => {
      if (!(await this.turns.decideToolCall(tx, call.id, approve ? "running" : "denied"))) {
        throw new AppError(ErrorCode.CONFLICT, `This tool call is not waiting for approval (it is ${call.status})`);
      }
      await recordChange(tx, sourceOf(actor), {
        organizationId: principal.organizationId,
        type: approve ? "chat.tool_call.approved" : "chat.tool_call.denied",
        targetType: "chat_tool_call",
        targetId: call.id,
        data: { sessionId: session.id, turnId: call.turnId, toolName: call.toolName, serverId: call.serverId },
        payload: { sessionId: session.id, turnId: call.turnId, toolCallId: call.id },
      });
    });
    await this.control(call.turnId, { type: "approval", toolCallId: call.id, approve });
    const updated = await this.messages.findToolCall(principal.organizationId, session.id, call.id);
    return toChatToolCall(updated ?? call);
  }

  private async control(turnId: string, message: ChatControl): Promise<void> {
    try {
      await this.runtime.publisher.publish(chatControlChannel(turnId), JSON.stringify(message));
    } catch {
      // The decision is stored; the worker also reads it from the database.
    }
  }
}

export function toChatTurn(row: ChatTurnRow, userMessage: ChatTurn["userMessage"]): ChatTurn {
  return {
    id: row.id,
    sessionId: row.sessionId,
    status: row.status as ChatTurnStatus,
    model: row.model,
    error: row.error,
    userMessage,
    createdAt: row.createdAt,
    finishedAt: row.finishedAt,
  };
}

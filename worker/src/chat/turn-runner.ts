import { randomUUID } from "node:crypto";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import {
  AIMessage,
  type AIMessageChunk,
  type BaseMessage,
  HumanMessage,
  SystemMessage,
} from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import {
  type ChatControl,
  type ChatEventLog,
  type ChatEventRecord,
  type CompiledPolicies,
  compilePolicies,
  ErrorCode,
  isDatabaseUnavailable,
  type Logger,
  loadPolicySet,
  type PolicyDecision,
  type PrismaClient,
  type SecretStore,
  type WorkerEnv,
} from "@sprintconnect/core";
import type { FetchLike } from "@sprintconnect/mcp";
import { type AgentConfig, costOf } from "./agent-config";
import type { ChatRepository, TurnRow } from "./chat.repository";
import { classifyToolFailure, graphTool, loadSessionTools, type SessionTool, type SessionTools } from "./chat-tools";
import type { McpConnectionPool } from "./connection-pool";
import type { ChatControlHub } from "./control-hub";
import { historyMessages } from "./history";
import { textOf } from "./local-model";
import { createChatModel, defaultModel, usageOf } from "./providers";

export interface ChatTurnRunnerDeps {
  env: WorkerEnv;
  db: PrismaClient;
  repo: ChatRepository;
  secrets: SecretStore;
  /** Connections to MCP servers, shared by turns (egress guard, timeouts of CHAT_TOOL_TIMEOUT_SECONDS). */
  pool: McpConnectionPool;
  /** The egress guard's fetch for LLM providers. */
  llmFetch: FetchLike;
  events: ChatEventLog;
  control: ChatControlHub;
  config: AgentConfig;
  logger: Logger;
}

type EventBody = Omit<ChatEventRecord, "seq" | "occurredAt" | "sessionId" | "organizationId" | "turnId">;

/** Why a turn stopped before the model finished. */
type StopReason = "cancelled" | "timeout";

/** What one running turn keeps. */
class TurnState {
  readonly abort = new AbortController();
  stopReason: StopReason | null = null;
  toolCallsUsed = 0;
  /** The assistant message the running tool calls belong to. */
  assistantMessageId: string | null = null;
  /** The place of each tool call (by the model's call id) in the assistant message that asked for it. */
  callPositions = new Map<string, number>();
  /** Whether the turn's end freed its session (`done`). */
  released = false;

  /** What every stored tool call of this turn's current assistant message carries. */
  toolCallRow(callId: string) {
    return {
      organizationId: this.turn.organizationId,
      sessionId: this.turn.sessionId,
      turnId: this.turn.id,
      messageId: this.assistantMessageId as string,
      callId,
      position: this.callPositions.get(callId) ?? 0,
    };
  }
  /** Text streamed by the model call in progress (kept when the turn is stopped). */
  partialText = "";
  /** Approval decisions arriving from the control channel, by tool call id. */
  readonly approvalWaiters = new Map<string, () => void>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly turn: TurnRow,
    readonly model: string,
    private readonly publish: (event: Parameters<ChatEventLog["publish"]>[0]) => Promise<number>,
    private readonly logger: Logger,
  ) {}

  /** Publishes in call order without waiting (tokens must not wait for Redis round trips). */
  emit(event: EventBody): void {
    const full = {
      ...event,
      sessionId: this.turn.sessionId,
      organizationId: this.turn.organizationId,
      turnId: this.turn.id,
    };
    this.chain = this.chain.then(
      () => this.publish(full),
      () => undefined,
    );
    this.chain = this.chain.catch((err: unknown) => this.logger.warn({ err }, "chat: cannot publish an event"));
  }

  flush(): Promise<unknown> {
    return this.chain;
  }

  stop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.abort.abort(new Error(reason));
  }
}

/**
 * Runs chat turns: connects to the session's servers, runs the LangGraph agent (model →
 * approval → tools → model … until it answers), stores messages and tool calls as they
 * complete, publishes every step on the session's channel, and writes a usage event per
 * model call and per tool call.
 */
export class ChatTurnRunner {
  constructor(private readonly deps: ChatTurnRunnerDeps) {}

  /**
   * `finalAttempt`: no retry follows this attempt. The job is retried when an attempt fails
   * (packages/jobs, `chatTurnJob`); what a retry does is decided by the turn's stored status, so
   * a retry never runs a turn or a tool call twice. When the last attempt fails, the turn is
   * ended (`abandon`) instead of staying queued or running with its session held.
   */
  async run(payload: { turnId: string }, options: { finalAttempt?: boolean } = {}): Promise<void> {
    try {
      await this.attempt(payload);
    } catch (err) {
      if (options.finalAttempt) await this.abandon(payload.turnId, err);
      throw err;
    }
  }

  private async attempt(payload: { turnId: string }): Promise<void> {
    const { repo } = this.deps;
    // Listening before the turn is read: a cancel published from now on is heard, one stored
    // before is in the row (the API stores it, then publishes), so no second read is needed.
    let deliver: ((control: ChatControl) => void) | null = null;
    let cancelledEarly = false;
    const unlisten = await this.deps.control.listen(payload.turnId, (control) => {
      if (deliver) deliver(control);
      else if (control.type === "cancel") cancelledEarly = true;
    });
    try {
      const turn = await repo.findTurn(payload.turnId);
      if (!turn) return;
      if (turn.status === "running") return await this.interrupted(turn);
      // Cancelled before it started, or ended by an attempt that failed after the turn's end
      // (its session is freed here if that attempt could not).
      if (turn.status !== "queued") return await repo.releaseSession(turn.sessionId, turn.id);
      // The tools and the history are read while the turn is claimed: independent reads.
      const prepared = this.prepare(turn);
      prepared.catch(() => undefined); // awaited (and reported) by execute
      if (!(await repo.transition(turn.id, ["queued"], { status: "running", startedAt: new Date() }))) return;
      const model = turn.model ?? turn.session.model ?? defaultModel(this.deps.env);
      const state = new TurnState(turn, model, (e) => this.deps.events.publish(e), this.deps.logger);
      deliver = (control) => this.onControl(state, control);
      if (cancelledEarly || turn.cancelRequestedAt) state.stop("cancelled");
      const timer = setTimeout(() => state.stop("timeout"), this.deps.env.CHAT_TURN_TIMEOUT_SECONDS * 1000);
      try {
        await this.execute(state, prepared);
      } finally {
        clearTimeout(timer);
        await state.flush();
        // Freed before `done` when the turn ended; this covers a run that threw before its end.
        if (!state.released) await repo.releaseSession(turn.sessionId, turn.id);
      }
    } finally {
      unlisten();
    }
  }

  /**
   * The attempt that ran this turn stopped (its worker died) or failed after its claim (a database
   * or Redis error): it is not resumed (no tool call runs twice).
   */
  private interrupted(turn: TurnRow): Promise<void> {
    return this.end(
      turn,
      "running",
      "interrupted",
      "The turn was interrupted: the worker running it stopped or failed; try again",
    );
  }

  /**
   * The last attempt failed (a database or Redis error) and no retry follows: a turn it could not
   * claim fails, one it claimed (its run ended with the error) is interrupted. Best effort: if the
   * database is still unreachable the turn stays as it is (logged).
   */
  private async abandon(turnId: string, cause: unknown): Promise<void> {
    try {
      const turn = await this.deps.repo.findTurn(turnId);
      if (turn?.status === "queued")
        await this.end(turn, "queued", "failed", "The turn could not be started; try again");
      else if (turn?.status === "running") await this.interrupted(turn);
    } catch (err) {
      this.deps.logger.error({ err, cause, turnId }, "chat turn failed and could not be ended");
    }
  }

  /**
   * Ends a turn that will not run (further) as `status` with `message`: its unfinished tool calls
   * failed, `error` and `done` published, the session freed — also when another attempt ended it.
   */
  private async end(turn: TurnRow, from: "queued" | "running", status: "failed" | "interrupted", message: string) {
    const { repo } = this.deps;
    if (!(await repo.transition(turn.id, [from], { status, error: message, finishedAt: new Date() }))) {
      return repo.releaseSession(turn.sessionId, turn.id);
    }
    if (from === "running") await repo.failUnfinishedToolCalls(turn.id, message);
    const state = new TurnState(turn, turn.model ?? "", (e) => this.deps.events.publish(e), this.deps.logger);
    state.emit({ type: "error", code: ErrorCode.SERVICE_UNAVAILABLE, message });
    await this.done(state, status);
    await state.flush();
  }

  /**
   * Frees the session, then publishes `done`: a client that sends its next message on `done`
   * must not be refused with CONFLICT.
   */
  private async done(state: TurnState, status: "completed" | "cancelled" | "failed" | "interrupted") {
    await this.deps.repo.releaseSession(state.turn.sessionId, state.turn.id);
    state.released = true;
    state.emit({ type: "done", status });
  }

  private onControl(state: TurnState, control: ChatControl): void {
    if (control.type === "cancel") state.stop("cancelled");
    else state.approvalWaiters.get(control.toolCallId)?.();
  }

  /** The session's tools (stored definitions, no connection yet) and the model's first messages. */
  private async prepare(turn: TurnRow): Promise<{ tools: SessionTools; messages: BaseMessage[] }> {
    const { repo, env, logger } = this.deps;
    const [tools, messages] = await Promise.all([
      this.callToolPolicies(turn).then((policies) =>
        loadSessionTools({
          db: this.deps.db,
          repo,
          secrets: this.deps.secrets,
          pool: this.deps.pool,
          logger,
          organizationId: turn.organizationId,
          serverIds: turn.session.serverIds,
          timeoutMs: env.CHAT_TOOL_TIMEOUT_SECONDS * 1000,
          approvalRules: this.deps.config.approvalTools,
          policies,
        }),
      ),
      this.initialMessages(turn),
    ]);
    return { tools, messages };
  }

  private async execute(
    state: TurnState,
    prepared: Promise<{ tools: SessionTools; messages: BaseMessage[] }>,
  ): Promise<void> {
    const { env } = this.deps;
    let ready: Awaited<typeof prepared>;
    try {
      ready = await prepared;
    } catch (err) {
      return this.stopped(state, err);
    }
    const { tools, messages } = ready;
    try {
      const model = createChatModel(env, state.model, this.deps.llmFetch);
      const graph = this.graph(state, model, tools.tools);
      const stream = await graph.stream(
        { messages },
        {
          streamMode: ["updates"],
          signal: state.abort.signal,
          recursionLimit: 2 * env.CHAT_MAX_TOOL_CALLS_PER_TURN + 10,
        },
      );
      for await (const _update of stream) {
        // Steps store and publish themselves, in order; the stream drives the graph.
      }
      await this.finish(state, "completed");
    } catch (err) {
      await this.stopped(state, err);
    } finally {
      await tools.close();
    }
  }

  /**
   * The turn's caller's `call_tool` policies, read now (the caller's current role, the current
   * policies): read when the turn's tools are offered and again before each call.
   */
  private async callToolPolicies(turn: TurnRow): Promise<CompiledPolicies> {
    const [set, role] = await Promise.all([
      loadPolicySet(this.deps.db, turn.organizationId),
      turn.userId ? this.deps.repo.memberRole(turn.organizationId, turn.userId) : null,
    ]);
    const subject = { role: role ?? "", userId: turn.userId ?? "", apiKeyId: turn.apiKeyId };
    return compilePolicies(set, subject, "call_tool");
  }

  /** The system prompt, the session's earlier messages and this turn's user message. */
  private async initialMessages(turn: TurnRow): Promise<BaseMessage[]> {
    const { repo } = this.deps;
    const [earlier, user] = await Promise.all([repo.history(turn.sessionId, turn.id), repo.userMessage(turn.id)]);
    return [
      new SystemMessage({ id: randomUUID(), content: this.deps.config.systemPrompt }),
      ...historyMessages(earlier),
      new HumanMessage({ id: user?.id ?? randomUUID(), content: user?.content ?? "" }),
    ];
  }

  private graph(state: TurnState, model: BaseChatModel, tools: SessionTool[]) {
    const byName = new Map(tools.map((t) => [t.name, t]));
    // The model is offered only the tools the caller may call; the graph still knows the others,
    // so a call to one (a model naming a tool it was not offered) is a stored, refused call.
    const offered = tools.filter((t) => t.decision.allowed);
    const bound = offered.length > 0 && model.bindTools ? model.bindTools(offered.map((t) => t.inner)) : model;
    const toolNode = new ToolNode(
      tools.map((t) => graphTool(t, (tool, args, callId) => this.callTool(state, tool, args, callId))),
    );
    return new StateGraph(MessagesAnnotation)
      .addNode("agent", async (s: typeof MessagesAnnotation.State) => ({
        messages: [await this.callModel(state, bound, s.messages)],
      }))
      .addNode("approval", async (s: typeof MessagesAnnotation.State) => {
        await this.awaitApprovals(state, s.messages, byName);
        return {};
      })
      .addNode("tools", toolNode)
      .addEdge(START, "agent")
      .addConditionalEdges("agent", toolsCondition, { tools: "approval", [END]: END })
      .addEdge("approval", "tools")
      .addEdge("tools", "agent")
      .compile();
  }

  /** One model call: streams tokens, stores the assistant message, records usage. */
  private async callModel(
    state: TurnState,
    model: Pick<BaseChatModel, "stream">,
    messages: BaseMessage[],
  ): Promise<AIMessage> {
    const { env, repo, config } = this.deps;
    const started = performance.now();
    const chunks: AIMessageChunk[] = [];
    let full: AIMessageChunk | undefined;
    state.partialText = "";
    try {
      const stream = await model.stream(messages, { signal: state.abort.signal });
      for await (const chunk of stream) {
        chunks.push(chunk);
        full = full ? full.concat(chunk) : chunk;
        const text = textOf(chunk.content);
        if (text) {
          state.partialText += text;
          state.emit({ type: "token", text });
        }
      }
    } catch (err) {
      await this.recordModelUsage(state, chunks, performance.now() - started, false);
      throw err;
    }
    const usage = usageOf(env.LLM_PROVIDER, chunks);
    let toolCalls = (full?.tool_calls ?? []).map((c) => ({ ...c, id: c.id || `call_${randomUUID()}` }));
    const allowance = env.CHAT_MAX_TOOL_CALLS_PER_TURN - state.toolCallsUsed;
    let content = textOf(full?.content ?? "");
    if (toolCalls.length > allowance) {
      toolCalls = toolCalls.slice(0, Math.max(0, allowance));
      if (toolCalls.length === 0) {
        content = `${content}${content ? "\n\n" : ""}Stopped: this turn reached its limit of ${env.CHAT_MAX_TOOL_CALLS_PER_TURN} tool calls.`;
      }
    }
    // The message and the usage event are independent writes: one round trip, not two.
    const [stored] = await Promise.all([
      repo.createMessage({
        organizationId: state.turn.organizationId,
        sessionId: state.turn.sessionId,
        turnId: state.turn.id,
        role: "assistant",
        content,
        model: state.model,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        cachedTokens: usage.cachedTokens,
        costUsd: costOf(config.prices, state.model, usage),
      }),
      this.recordModelUsage(state, chunks, performance.now() - started, true),
    ]);
    state.partialText = "";
    state.assistantMessageId = stored.id;
    state.callPositions = new Map(toolCalls.map((c, i) => [c.id, i]));
    state.emit({ type: "message", messageId: stored.id });
    return new AIMessage({ id: stored.id, content, tool_calls: toolCalls, usage_metadata: full?.usage_metadata });
  }

  private async recordModelUsage(state: TurnState, chunks: AIMessageChunk[], ms: number, success: boolean) {
    const usage = usageOf(this.deps.env.LLM_PROVIDER, chunks);
    await this.deps.repo
      .recordUsage({
        organizationId: state.turn.organizationId,
        userId: state.turn.userId,
        apiKeyId: state.turn.apiKeyId,
        sessionId: state.turn.sessionId,
        kind: "chat.model_call",
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        cachedTokens: usage.cachedTokens,
        costUsd: costOf(this.deps.config.prices, state.model, usage),
        model: state.model,
        durationMs: Math.round(ms),
        success,
        metadata: { turnId: state.turn.id, provider: this.deps.env.LLM_PROVIDER },
      })
      .catch((err: unknown) => this.deps.logger.warn({ err }, "chat: cannot record model usage"));
  }

  /** Tool calls that need a person: stored as awaiting_approval, announced, and waited for. */
  private async awaitApprovals(state: TurnState, messages: BaseMessage[], byName: Map<string, SessionTool>) {
    const last = messages[messages.length - 1] as AIMessage | undefined;
    // A person is not asked about a call the caller's policies already refuse.
    const gated = (last?.tool_calls ?? []).filter((c) => {
      const tool = byName.get(c.name);
      return tool?.needsApproval && tool.decision.allowed;
    });
    await Promise.all(
      gated.map(async (call) => {
        const tool = byName.get(call.name) as SessionTool;
        const callId = call.id as string;
        let row = await this.deps.repo.findToolCall(state.turn.id, callId);
        if (!row) {
          row = await this.deps.repo.createToolCall({
            ...state.toolCallRow(callId),
            serverId: tool.serverId,
            toolName: tool.toolName,
            arguments: call.args as object,
            status: "awaiting_approval",
          });
          state.emit({
            type: "approval_required",
            toolCallId: row.id,
            serverId: tool.serverId,
            toolName: tool.toolName,
            arguments: call.args,
          });
        }
        await this.waitForDecision(state, row.id);
      }),
    );
  }

  /** Resolves when a person decided (control message, or seen in the database) or the wait timed out. */
  private async waitForDecision(state: TurnState, toolCallId: string): Promise<void> {
    const deadline = Date.now() + this.deps.env.CHAT_APPROVAL_TIMEOUT_SECONDS * 1000;
    try {
      for (;;) {
        const row = await this.deps.repo.getToolCall(toolCallId);
        if (row?.status !== "awaiting_approval") return;
        if (Date.now() >= deadline) {
          await this.deps.repo.decideToolCall(toolCallId, "denied");
          continue;
        }
        if (state.abort.signal.aborted) throw state.abort.signal.reason;
        // Woken by the control channel; the database is checked again at least every second.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(1_000, Math.max(0, deadline - Date.now())));
          const wake = () => {
            clearTimeout(timer);
            resolve();
          };
          state.approvalWaiters.set(toolCallId, wake);
          state.abort.signal.addEventListener("abort", wake, { once: true });
        });
      }
    } finally {
      state.approvalWaiters.delete(toolCallId);
    }
  }

  /**
   * One tool call, at most once per turn: a call already stored as finished (a retried job)
   * returns its stored result; a denied one is not run; past the limit it is refused.
   */
  private async callTool(
    state: TurnState,
    tool: SessionTool,
    args: Record<string, unknown>,
    givenCallId: string | undefined,
  ): Promise<string> {
    const { repo, env } = this.deps;
    const callId = givenCallId ?? `call_${randomUUID()}`;
    let row = await repo.findToolCall(state.turn.id, callId);
    if (row && (row.status === "succeeded" || row.status === "failed")) return row.result ?? `Error: ${row.error}`;
    const base = { serverId: tool.serverId, toolName: tool.toolName };
    if (row?.status === "denied") {
      await repo.updateToolCall(row.id, { error: "Denied by a person", finishedAt: new Date() });
      state.emit({
        type: "tool_call_failed",
        toolCallId: row.id,
        ...base,
        code: ErrorCode.FORBIDDEN,
        message: "Denied",
      });
      return "A person denied this tool call; it was not run.";
    }
    if (state.toolCallsUsed >= env.CHAT_MAX_TOOL_CALLS_PER_TURN) {
      return `Not run: this turn reached its limit of ${env.CHAT_MAX_TOOL_CALLS_PER_TURN} tool calls.`;
    }
    // Decided again at the call, with the policies as they are now (one may have changed while
    // the call waited for a person).
    const decision = (await this.callToolPolicies(state.turn)).capability(tool.server, {
      name: tool.toolName,
      kind: "tool",
    });
    if (!decision.allowed) return this.refuseToolCall(state, tool, args, callId, row, decision);
    state.toolCallsUsed += 1;
    row ??= await repo.createToolCall({
      ...state.toolCallRow(callId),
      ...base,
      arguments: args as object,
      status: "running",
    });
    state.emit({ type: "tool_call_started", toolCallId: row.id, ...base, arguments: args });
    const timeoutMs = env.CHAT_TOOL_TIMEOUT_SECONDS * 1000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const started = performance.now();
    const startedAt = Date.now();
    // The SDK waits for its timeout when a response stream breaks (e.g. cut by the egress
    // guard's size cap); a transport failure of this server ends the call at once.
    const cut = new AbortController();
    const unwatch = tool.onFailure(() => cut.abort());
    let outcome: { ok: true; text: string; truncated: boolean } | { ok: false; code: ErrorCode; message: string };
    try {
      const output = await tool.inner.invoke(args, {
        signal: AbortSignal.any([state.abort.signal, timeout, cut.signal]),
        timeout: timeoutMs,
      });
      const text = typeof output === "string" ? output : JSON.stringify(output);
      const max = env.CHAT_TOOL_RESULT_MAX_CHARS;
      outcome = { ok: true, text: text.length > max ? text.slice(0, max) : text, truncated: text.length > max };
    } catch (err) {
      if (state.abort.signal.aborted) {
        await repo.updateToolCall(row.id, {
          status: "failed",
          error: `Stopped: the turn was ${state.stopReason === "timeout" ? "timed out" : "cancelled"}`,
          durationMs: Math.round(performance.now() - started),
          finishedAt: new Date(),
        });
        throw err;
      }
      const failure = tool.lastFailure();
      outcome = {
        ok: false,
        ...classifyToolFailure(
          err,
          failure && failure.at >= startedAt ? failure.error : null,
          timeout.aborted,
          timeoutMs,
        ),
      };
    } finally {
      unwatch();
    }
    const durationMs = Math.round(performance.now() - started);
    // Three independent writes, in parallel: the call's outcome, its usage event, the tool message.
    const finished = repo.updateToolCall(row.id, {
      status: outcome.ok ? "succeeded" : "failed",
      result: outcome.ok ? outcome.text : null,
      resultTruncated: outcome.ok ? outcome.truncated : false,
      error: outcome.ok ? null : outcome.message,
      durationMs,
      finishedAt: new Date(),
    });
    const usage = repo
      .recordUsage({
        organizationId: state.turn.organizationId,
        userId: state.turn.userId,
        apiKeyId: state.turn.apiKeyId,
        sessionId: state.turn.sessionId,
        serverId: tool.serverId,
        capabilityId: tool.capabilityId,
        kind: "chat.tool_call",
        toolName: tool.toolName,
        durationMs,
        success: outcome.ok,
        metadata: { turnId: state.turn.id, toolCallId: row.id, ...(outcome.ok ? {} : { code: outcome.code }) },
      })
      .catch((err: unknown) => this.deps.logger.warn({ err }, "chat: cannot record tool usage"));
    const [, , toolMessage] = await Promise.all([
      finished,
      usage,
      repo.createMessage({
        organizationId: state.turn.organizationId,
        sessionId: state.turn.sessionId,
        turnId: state.turn.id,
        role: "tool",
        toolCallId: row.id,
        content: outcome.ok ? outcome.text : `Error: ${outcome.message}`,
      }),
    ]);
    if (outcome.ok) {
      state.emit({ type: "tool_call_finished", toolCallId: row.id, ...base, result: outcome.text, durationMs });
    } else {
      state.emit({
        type: "tool_call_failed",
        toolCallId: row.id,
        ...base,
        code: outcome.code,
        message: outcome.message,
        durationMs,
      });
    }
    state.emit({ type: "message", messageId: toolMessage.id });
    return outcome.ok ? outcome.text : `Error: ${outcome.message}`;
  }

  /** A call the caller's access policies refuse: stored as failed (FORBIDDEN), never sent to the server. */
  private async refuseToolCall(
    state: TurnState,
    tool: SessionTool,
    args: Record<string, unknown>,
    callId: string,
    existing: Awaited<ReturnType<ChatRepository["findToolCall"]>>,
    decision: PolicyDecision,
  ): Promise<string> {
    const { repo } = this.deps;
    const message = decision.policy
      ? `Refused by the access policy "${decision.policy.name}"`
      : "Refused: no access policy allows this tool and the organization's default access is closed";
    const base = { serverId: tool.serverId, toolName: tool.toolName };
    const failed = { status: "failed" as const, error: message, durationMs: 0, finishedAt: new Date() };
    const row = existing
      ? await repo.updateToolCall(existing.id, failed)
      : await repo.createToolCall({
          ...state.toolCallRow(callId),
          ...base,
          arguments: args as object,
          ...failed,
        });
    const toolMessage = await repo.createMessage({
      organizationId: state.turn.organizationId,
      sessionId: state.turn.sessionId,
      turnId: state.turn.id,
      role: "tool",
      toolCallId: row.id,
      content: `Error: ${message}`,
    });
    state.emit({ type: "tool_call_failed", toolCallId: row.id, ...base, code: ErrorCode.FORBIDDEN, message });
    state.emit({ type: "message", messageId: toolMessage.id });
    return `Error: ${message}`;
  }

  private async finish(state: TurnState, status: "completed" | "cancelled" | "failed", error?: string) {
    await this.deps.repo.transition(state.turn.id, ["running"], {
      status,
      finishedAt: new Date(),
      ...(error ? { error } : {}),
    });
    await this.done(state, status);
  }

  /** The turn stopped early: keep the partial answer (marked), then report why. */
  private async stopped(state: TurnState, err: unknown): Promise<void> {
    const partial = state.partialText;
    state.partialText = "";
    if (partial) {
      const stored = await this.deps.repo.createMessage({
        organizationId: state.turn.organizationId,
        sessionId: state.turn.sessionId,
        turnId: state.turn.id,
        role: "assistant",
        content: partial,
        status: "partial",
        model: state.model,
      });
      state.emit({ type: "message", messageId: stored.id });
    }
    if (state.stopReason === "cancelled") return this.finish(state, "cancelled");
    const timeout = state.stopReason === "timeout";
    // A database too busy for the turn's reads and writes (no free connection, a timeout) is not
    // the model's failure: said so, and logged as the overload it is.
    const busy = !timeout && isDatabaseUnavailable(err);
    const message = timeout
      ? `The turn ran longer than CHAT_TURN_TIMEOUT_SECONDS (${this.deps.env.CHAT_TURN_TIMEOUT_SECONDS} s)`
      : busy
        ? "The database was too busy to run the turn; try again"
        : "The model failed to answer; try again";
    if (busy) this.deps.logger.warn({ err, turnId: state.turn.id }, "chat turn failed: the database is unavailable");
    else if (!timeout) this.deps.logger.error({ err, turnId: state.turn.id }, "chat turn failed");
    state.emit({ type: "error", code: ErrorCode.SERVICE_UNAVAILABLE, message });
    await this.finish(state, "failed", message);
  }
}

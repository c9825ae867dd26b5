import type { Redis } from "ioredis";
import { redisChannel } from "../redis";

/**
 * Chat events: what a running turn tells its subscribers. The worker publishes them on one
 * Redis channel per session and appends them to a bounded per-session log (a Redis list with
 * a TTL), so a subscriber that reconnects can ask for what it missed (`after: seq`). Sequence
 * numbers are per session, strictly increasing, assigned by Redis in the same script that
 * logs and publishes the event, so the log and the channel agree on the order.
 */

/** Prefix of every chat key and channel (one deployment per Redis database; channels also carry its number, `redisChannel`). */
export const CHAT_PREFIX = "sprintconnect:chat";

/** Pub/sub channel of one session's events. */
export const chatChannel = (sessionId: string) => `${CHAT_PREFIX}:events:${sessionId}`;
/** Pub/sub channel on which the API tells the worker running a turn to cancel it or resolve an approval. */
export const chatControlChannel = (turnId: string) => `${CHAT_PREFIX}:control:${turnId}`;
const logKey = (sessionId: string) => `${CHAT_PREFIX}:log:${sessionId}`;
const seqKey = (sessionId: string) => `${CHAT_PREFIX}:seq:${sessionId}`;

export type ChatEventType =
  | "token"
  | "tool_call_started"
  | "tool_call_finished"
  | "tool_call_failed"
  | "approval_required"
  | "message"
  | "done"
  | "error";

/** One chat event as published (JSON). Fields beside the envelope depend on `type`. */
export interface ChatEventRecord {
  sessionId: string;
  organizationId: string;
  turnId: string;
  seq: number;
  type: ChatEventType;
  occurredAt: string;
  /** `token`: the text delta. */
  text?: string;
  /** Tool call events: our tool call id, server, tool, arguments, result or error, duration. */
  toolCallId?: string;
  serverId?: string | null;
  toolName?: string;
  arguments?: Record<string, unknown>;
  result?: string;
  durationMs?: number;
  /** `message`: the id of the stored message (read it from the history). */
  messageId?: string;
  /** `done`: how the turn ended (`completed`, `cancelled`, `failed`, `interrupted`). */
  status?: string;
  /** `error` and `tool_call_failed`: a stable code from the error list and a message. */
  code?: string;
  message?: string;
}

/** What the API sends to the worker running a turn. */
export type ChatControl = { type: "cancel" } | { type: "approval"; toolCallId: string; approve: boolean };

// KEYS: seq, log, channel. ARGV: event JSON without seq (an object), log size, TTL seconds.
// The seq is spliced in as the first member, so the JSON is never decoded here.
const PUBLISH_SCRIPT = `
local seq = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
local json = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('RPUSH', KEYS[2], json)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', KEYS[3], json)
return seq`;

const PUBLISH_COMMAND = "scPublishChatEvent";

export interface ChatEventLogOptions {
  /** Events kept per session for replay. */
  size: number;
  /** Seconds the log (and the sequence) of an idle session is kept. */
  ttlSeconds: number;
}

/** Publishes and replays chat events. */
export class ChatEventLog {
  constructor(
    private readonly redis: Redis,
    private readonly options: ChatEventLogOptions,
  ) {
    // A command of the connection: EVALSHA on every token (the script is not sent each time),
    // EVAL once more when Redis answers NOSCRIPT (after a restart).
    if (!(PUBLISH_COMMAND in redis)) redis.defineCommand(PUBLISH_COMMAND, { numberOfKeys: 3, lua: PUBLISH_SCRIPT });
  }

  /** Logs and publishes one event; returns its sequence number. */
  async publish(event: Omit<ChatEventRecord, "seq" | "occurredAt"> & { occurredAt?: string }): Promise<number> {
    const body = JSON.stringify({ ...event, occurredAt: event.occurredAt ?? new Date().toISOString() });
    const publish = (this.redis as unknown as Record<typeof PUBLISH_COMMAND, (...args: string[]) => Promise<unknown>>)[
      PUBLISH_COMMAND
    ];
    const seq = await publish.call(
      this.redis,
      seqKey(event.sessionId),
      logKey(event.sessionId),
      redisChannel(this.redis, chatChannel(event.sessionId)),
      body,
      String(this.options.size),
      String(this.options.ttlSeconds),
    );
    return Number(seq);
  }

  /** The logged events of a session with `seq > after`, oldest first. */
  async replay(sessionId: string, after: number): Promise<ChatEventRecord[]> {
    const raw = await this.redis.lrange(logKey(sessionId), 0, -1);
    return raw.map(parseChatEvent).filter((e): e is ChatEventRecord => e !== null && e.seq > after);
  }

  /** Forgets a session's log and sequence (the session was deleted). */
  async forget(sessionId: string): Promise<void> {
    await this.redis.del(logKey(sessionId), seqKey(sessionId));
  }
}

/** Parses one published event, or null when it is not one. */
export function parseChatEvent(raw: string): ChatEventRecord | null {
  try {
    const value = JSON.parse(raw) as ChatEventRecord;
    if (typeof value !== "object" || value === null || typeof value.seq !== "number") return null;
    if (typeof value.sessionId !== "string" || typeof value.turnId !== "string" || typeof value.type !== "string") {
      return null;
    }
    return value;
  } catch {
    return null;
  }
}

/** Parses one control message, or null. */
export function parseChatControl(raw: string): ChatControl | null {
  try {
    const value = JSON.parse(raw) as ChatControl;
    if (value?.type === "cancel") return value;
    if (value?.type === "approval" && typeof value.toolCallId === "string" && typeof value.approve === "boolean") {
      return value;
    }
    return null;
  } catch {
    return null;
  }
}

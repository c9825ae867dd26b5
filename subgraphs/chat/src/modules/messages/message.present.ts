import type { ChatMessageRole, ChatMessageStatus, ChatToolCallStatus } from "../shared/enums";
import type { ChatMessageRow } from "./message.repository";
import type { ChatMessage, ChatToolCall } from "./message.type";

type ToolCallRow = ChatMessageRow["toolCalls"][number];

export function toChatToolCall(row: ToolCallRow): ChatToolCall {
  return {
    id: row.id,
    turnId: row.turnId,
    messageId: row.messageId,
    serverId: row.serverId,
    toolName: row.toolName,
    arguments: (row.arguments ?? {}) as Record<string, unknown>,
    result: row.result,
    resultTruncated: row.resultTruncated,
    status: row.status as ChatToolCallStatus,
    durationMs: row.durationMs,
    error: row.error,
    createdAt: row.createdAt,
    finishedAt: row.finishedAt,
  };
}

export function toChatMessage(row: ChatMessageRow): ChatMessage {
  return {
    id: row.id,
    turnId: row.turnId,
    role: row.role as ChatMessageRole,
    content: row.content,
    status: row.status as ChatMessageStatus,
    model: row.model,
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    cachedTokens: row.cachedTokens,
    costUsd: row.costUsd.toFixed(),
    toolCalls: row.toolCalls.map(toChatToolCall),
    toolCallId: row.toolCallId,
    createdAt: row.createdAt,
  };
}

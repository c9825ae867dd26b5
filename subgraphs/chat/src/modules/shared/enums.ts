import { registerEnumType } from "type-graphql";

// Enum values are the same lowercase words in GraphQL, REST and the database.

export enum ChatSessionStatus {
  active = "active",
  archived = "archived",
}

registerEnumType(ChatSessionStatus, { name: "ChatSessionStatus", description: "Whether a chat session is in use" });

export enum ChatTurnStatus {
  queued = "queued",
  running = "running",
  completed = "completed",
  failed = "failed",
  cancelled = "cancelled",
  interrupted = "interrupted",
}
registerEnumType(ChatTurnStatus, {
  name: "ChatTurnStatus",
  description: "Where a turn is: queued, running, or how it ended (interrupted: its worker died)",
});

export enum ChatMessageRole {
  user = "user",
  assistant = "assistant",
  tool = "tool",
}
registerEnumType(ChatMessageRole, { name: "ChatMessageRole" });

export enum ChatMessageStatus {
  complete = "complete",
  partial = "partial",
}
registerEnumType(ChatMessageStatus, {
  name: "ChatMessageStatus",
  description: "partial: cut short by a cancel, a timeout, a failure or a worker that died",
});

export enum ChatToolCallStatus {
  awaiting_approval = "awaiting_approval",
  running = "running",
  succeeded = "succeeded",
  failed = "failed",
  denied = "denied",
}
registerEnumType(ChatToolCallStatus, { name: "ChatToolCallStatus" });

export enum ChatEventType {
  token = "token",
  tool_call_started = "tool_call_started",
  tool_call_finished = "tool_call_finished",
  tool_call_failed = "tool_call_failed",
  approval_required = "approval_required",
  message = "message",
  done = "done",
  error = "error",
}
registerEnumType(ChatEventType, { name: "ChatEventType" });

import { AIMessage, type BaseMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import type { HistoryMessage } from "./chat.repository";
import { safeName } from "./chat-tools";

/** What the model is told about an earlier tool call: its result, or why it has none. */
function outcomeOf(call: HistoryMessage["toolCalls"][number]): string {
  switch (call.status) {
    case "succeeded":
      return call.result ?? "";
    case "denied":
      return "A person denied this tool call; it was not run.";
    case "failed":
      return `Error: ${call.error ?? "the call failed"}`;
    default:
      return "Not run: the turn ended before this call finished.";
  }
}

/**
 * Earlier turns as the model's messages: user messages, assistant messages with the tool calls
 * they asked for, and after each such message one tool message per call with its stored outcome
 * (providers refuse a tool call without its answer, and a model that cannot see what its tools
 * returned asks again). Every message keeps its stored id (LangGraph's reducer replaces repeated ids).
 */
export function historyMessages(rows: readonly HistoryMessage[]): BaseMessage[] {
  const messages: BaseMessage[] = [];
  for (const row of rows) {
    if (row.role === "user") {
      if (row.content.trim() !== "") messages.push(new HumanMessage({ id: row.id, content: row.content }));
      continue;
    }
    if (row.content.trim() === "" && row.toolCalls.length === 0) continue;
    messages.push(
      new AIMessage({
        id: row.id,
        content: row.content,
        tool_calls: row.toolCalls.map((call) => ({
          id: call.callId,
          name: safeName(call.toolName),
          args: (call.arguments ?? {}) as Record<string, unknown>,
          type: "tool_call" as const,
        })),
      }),
    );
    for (const call of row.toolCalls) {
      messages.push(
        new ToolMessage({
          id: `${row.id}:${call.callId}`,
          tool_call_id: call.callId,
          name: safeName(call.toolName),
          content: outcomeOf(call),
        }),
      );
    }
  }
  return messages;
}

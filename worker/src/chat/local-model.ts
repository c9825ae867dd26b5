import { randomUUID } from "node:crypto";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BindToolsInput,
} from "@langchain/core/language_models/chat_models";
import { AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import type { Runnable } from "@langchain/core/runnables";

/** Name the local model reports (and the price table is keyed by). */
export const LOCAL_MODEL_NAME = "local";

interface LocalCallOptions extends BaseChatModelCallOptions {
  tools?: BindToolsInput[];
}

/** A planned reply: text to stream, and the tool calls to ask for. */
export interface LocalReply {
  text: string;
  toolCalls: Array<{ name: string; args: Record<string, unknown> }>;
}

/** Text of a message's content, whatever its shape. */
export function textOf(content: BaseMessage["content"]): string {
  if (typeof content === "string") return content;
  return content
    .map((block) => (typeof block === "string" ? block : block.type === "text" ? String(block.text ?? "") : ""))
    .join("");
}

/** Rough token count of a text: its words (deterministic, no tokenizer download). */
export function countTokens(text: string): number {
  const words = text.trim().split(/\s+/).filter(Boolean);
  return words.length;
}

/** Every top-level JSON object in `text`, in order (balanced braces that parse as an object). */
export function jsonObjectsIn(text: string): Array<Record<string, unknown>> {
  const found: Array<Record<string, unknown>> = [];
  for (let start = text.indexOf("{"); start !== -1; ) {
    let depth = 0;
    let inString = false;
    let end = -1;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === "{") depth++;
      else if (c === "}" && --depth === 0) {
        end = i;
        break;
      }
    }
    if (end === -1) break;
    try {
      const value = JSON.parse(text.slice(start, end + 1)) as unknown;
      if (value && typeof value === "object" && !Array.isArray(value)) {
        found.push(value as Record<string, unknown>);
        start = text.indexOf("{", end + 1);
        continue;
      }
    } catch {
      // not JSON: look for the next brace
    }
    start = text.indexOf("{", start + 1);
  }
  return found;
}

/**
 * What the local model answers. After tool results: a summary of them. After a user message
 * that names tools (as words): calls to those tools, in the order they are named, the i-th
 * with the i-th JSON object of the message (or the last one, or no arguments). Otherwise an
 * answer from the message itself.
 */
export function planReply(messages: BaseMessage[], toolNames: readonly string[]): LocalReply {
  const last = messages[messages.length - 1];
  if (!last) return { text: "Hello! Send a message to start.", toolCalls: [] };
  if (last.getType() === "tool") {
    const results: string[] = [];
    for (let i = messages.length - 1; i >= 0 && messages[i]?.getType() === "tool"; i--) {
      const message = messages[i] as BaseMessage & { name?: string };
      const text = textOf(message.content).replace(/\s+/g, " ").trim();
      results.unshift(`${message.name ?? "a tool"} returned ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`);
    }
    return { text: `Here is what the tools returned: ${results.join("; ")}.`, toolCalls: [] };
  }
  const content = textOf(last.content);
  if (last.getType() === "human") {
    const named = toolNames
      .map((name) => ({
        name,
        at: new RegExp(`(^|[^A-Za-z0-9_-])${escapeRegExp(name)}($|[^A-Za-z0-9_-])`).exec(content),
      }))
      .filter((t): t is { name: string; at: RegExpExecArray } => t.at !== null)
      .sort((a, b) => a.at.index - b.at.index);
    if (named.length > 0) {
      const objects = jsonObjectsIn(content);
      return {
        text: "",
        toolCalls: named.map((t, i) => ({ name: t.name, args: objects[i] ?? objects[objects.length - 1] ?? {} })),
      };
    }
  }
  return { text: `You said: ${content.trim()}`, toolCalls: [] };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A deterministic offline chat model (LLM_PROVIDER=local): no network, no key. It streams
 * its answer word by word, asks for the tools a message names, and reports token usage
 * (words counted as tokens).
 */
export class LocalChatModel extends BaseChatModel<LocalCallOptions, AIMessageChunk> {
  private toolNames: string[] = [];

  constructor() {
    super({});
  }

  _llmType(): string {
    return "sprintconnect-local";
  }

  override bindTools(tools: BindToolsInput[]): Runnable<BaseMessage[], AIMessageChunk, LocalCallOptions> {
    const next = new LocalChatModel();
    next.toolNames = tools.map((t) => String((t as { name?: unknown }).name ?? ""));
    return next.withConfig({ tools } as Partial<LocalCallOptions>) as never;
  }

  async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"]): Promise<ChatResult> {
    let full: AIMessageChunk | undefined;
    for await (const chunk of this._streamResponseChunks(messages, options)) {
      const message = chunk.message as AIMessageChunk;
      full = full ? (full.concat(message) as AIMessageChunk) : message;
    }
    const message = full ?? new AIMessageChunk({ content: "" });
    return { generations: [{ text: textOf(message.content), message }] };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const reply = planReply(messages, this.toolNames);
    const words = reply.text.split(/(?<=\s)/).filter(Boolean);
    for (const word of words) {
      if (options.signal?.aborted) return;
      // Let the event loop breathe between words, as a network stream would.
      await new Promise((resolve) => setImmediate(resolve));
      yield new ChatGenerationChunk({ text: word, message: new AIMessageChunk({ content: word }) });
      await runManager?.handleLLMNewToken(word);
    }
    const input = messages.reduce((n, m) => n + countTokens(textOf(m.content)), 0);
    const output =
      countTokens(reply.text) + reply.toolCalls.reduce((n, c) => n + 1 + countTokens(JSON.stringify(c.args)), 0);
    yield new ChatGenerationChunk({
      text: "",
      message: new AIMessageChunk({
        content: "",
        tool_call_chunks: reply.toolCalls.map((call, index) => ({
          type: "tool_call_chunk",
          id: `call_${randomUUID().replace(/-/g, "")}`,
          name: call.name,
          args: JSON.stringify(call.args),
          index,
        })),
        usage_metadata: { input_tokens: input, output_tokens: output, total_tokens: input + output },
        response_metadata: { model_name: LOCAL_MODEL_NAME },
      }),
    });
  }
}

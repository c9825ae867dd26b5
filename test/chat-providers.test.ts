import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AIMessageChunk, BaseMessage } from "@langchain/core/messages";
import { HumanMessage } from "@langchain/core/messages";
import { parseEnv, workerEnvSchema } from "@sprintconnect/core";
import { EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import { createChatModel, historyMessages, usageOf } from "@sprintconnect/worker";

/**
 * OpenAI, Azure OpenAI and Anthropic are outside this machine: a local HTTP server speaks their
 * streaming wire formats (server-sent events), and the providers' own SDKs talk to it through
 * our egress guard.
 */
let server: Server;
let baseUrl: string;
const seen: Array<{ path: string; headers: IncomingMessage["headers"]; body: any }> = [];
const guard = new EgressGuard(parseEgressPolicy(["127.0.0.1"]));

function sse(res: ServerResponse, events: Array<[string | null, unknown]>): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  for (const [event, data] of events) {
    res.write(`${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
  }
  res.end();
}

const openAiChunk = (delta: object, extra: object = {}) => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-test",
  choices: [{ index: 0, delta, finish_reason: null }],
  ...extra,
});

function openAi(res: ServerResponse): void {
  sse(res, [
    [null, openAiChunk({ role: "assistant", content: "Hello" })],
    [null, openAiChunk({ content: " from" })],
    [null, openAiChunk({ content: " OpenAI" })],
    [null, { ...openAiChunk({}), choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }],
    [
      null,
      {
        ...openAiChunk({}),
        choices: [],
        usage: {
          prompt_tokens: 12,
          completion_tokens: 3,
          total_tokens: 15,
          prompt_tokens_details: { cached_tokens: 4 },
        },
      },
    ],
    [null, "[DONE]"],
  ]);
}

/** Azure's content filter verdicts, which it adds to the prompt and to every choice. */
const azureFilters = {
  hate: { filtered: false, severity: "safe" },
  self_harm: { filtered: false, severity: "safe" },
  sexual: { filtered: false, severity: "safe" },
  violence: { filtered: false, severity: "safe" },
};

const azureChunk = (delta: object, finish: string | null = null) => ({
  id: "chatcmpl-azure",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-4o-mini-2024-07-18",
  system_fingerprint: "fp_azure",
  choices: [{ index: 0, delta, finish_reason: finish, logprobs: null, content_filter_results: azureFilters }],
});

/**
 * Azure OpenAI's stream: OpenAI's chunks, but first a chunk without choices carrying the
 * prompt's filter results (empty id, model and object), filter results on every choice, and
 * the usage in a last chunk without choices.
 */
function azure(res: ServerResponse): void {
  sse(res, [
    [
      null,
      {
        id: "",
        object: "",
        created: 0,
        model: "",
        choices: [],
        prompt_filter_results: [{ prompt_index: 0, content_filter_results: azureFilters }],
      },
    ],
    [null, azureChunk({ role: "assistant", content: "", refusal: null })],
    [null, azureChunk({ content: "Hello" })],
    [null, azureChunk({ content: " from" })],
    [null, azureChunk({ content: " Azure" })],
    [null, { ...azureChunk({}, "stop"), choices: [{ index: 0, delta: {}, finish_reason: "stop", logprobs: null }] }],
    [
      null,
      {
        id: "chatcmpl-azure",
        object: "chat.completion.chunk",
        created: 1,
        model: "gpt-4o-mini-2024-07-18",
        choices: [],
        usage: {
          prompt_tokens: 21,
          completion_tokens: 3,
          total_tokens: 24,
          prompt_tokens_details: { cached_tokens: 8 },
        },
      },
    ],
    [null, "[DONE]"],
  ]);
}

function anthropic(res: ServerResponse): void {
  sse(res, [
    [
      "message_start",
      {
        type: "message_start",
        message: {
          id: "msg_1",
          type: "message",
          role: "assistant",
          model: "claude-test",
          content: [],
          stop_reason: null,
          stop_sequence: null,
          // The preliminary output count; the final one comes with message_delta.
          usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 3 },
        },
      },
    ],
    ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }],
    ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello" } }],
    ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " from" } }],
    ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " Claude" } }],
    ["content_block_stop", { type: "content_block_stop", index: 0 }],
    [
      "message_delta",
      { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 7 } },
    ],
    ["message_stop", { type: "message_stop" }],
  ]);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => {
      raw += c;
    });
    req.on("end", () => {
      const body = raw ? JSON.parse(raw) : null;
      seen.push({ path: req.url ?? "", headers: req.headers, body });
      if (req.url?.startsWith("/openai/deployments/")) return azure(res);
      if (req.url?.endsWith("/chat/completions")) return openAi(res);
      if (req.url?.endsWith("/v1/messages")) return anthropic(res);
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await guard.close();
  await new Promise((resolve) => server.close(resolve));
});

async function streamWith(
  provider: "openai" | "anthropic" | "azure",
  model: string,
  messages: BaseMessage[] = [new HumanMessage("hi")],
  egress: EgressGuard = guard,
) {
  const env = parseEnv(workerEnvSchema, {
    LLM_PROVIDER: provider,
    LLM_API_KEY: `test-key-${provider}`,
    ...(provider === "azure"
      ? {
          AZURE_OPENAI_ENDPOINT: baseUrl,
          AZURE_OPENAI_DEPLOYMENT: "chat-deployment",
          AZURE_OPENAI_API_VERSION: "2024-10-21",
        }
      : { LLM_BASE_URL: provider === "openai" ? `${baseUrl}/v1` : baseUrl }),
    ALLOWED_EGRESS_HOSTS: "127.0.0.1",
  });
  const chat = createChatModel(env, model, egress.fetch);
  const chunks: AIMessageChunk[] = [];
  for await (const chunk of await chat.stream(messages)) chunks.push(chunk as AIMessageChunk);
  return { chunks, text: chunks.map((c) => (typeof c.content === "string" ? c.content : "")).join("") };
}

describe("LLM providers over their wire formats", () => {
  it("streams an OpenAI answer token by token and reads its usage with cached input tokens", async () => {
    const { chunks, text } = await streamWith("openai", "gpt-test");
    expect(text).toBe("Hello from OpenAI");
    expect(chunks.filter((c) => c.content !== "").length).toBe(3);
    expect(usageOf("openai", chunks)).toEqual({ inputTokens: 12, outputTokens: 3, cachedTokens: 4 });
    const call = seen.find((s) => s.path.endsWith("/chat/completions"));
    expect(call?.headers.authorization).toBe("Bearer test-key-openai");
    expect(call?.body).toMatchObject({ model: "gpt-test", stream: true, stream_options: { include_usage: true } });
  });

  it("streams an Azure OpenAI answer from the deployment's path with the api-key header, and reads its usage", async () => {
    seen.length = 0;
    const { chunks, text } = await streamWith("azure", "gpt-4o-mini");
    expect(text).toBe("Hello from Azure");
    expect(chunks.filter((c) => c.content !== "").length).toBe(3);
    expect(usageOf("azure", chunks)).toEqual({ inputTokens: 21, outputTokens: 3, cachedTokens: 8 });
    expect(seen).toHaveLength(1);
    const call = seen[0];
    const url = new URL(call?.path ?? "", baseUrl);
    expect(url.pathname).toBe("/openai/deployments/chat-deployment/chat/completions");
    expect(url.searchParams.get("api-version")).toBe("2024-10-21");
    expect(call?.headers["api-key"]).toBe("test-key-azure");
    expect(call?.headers.authorization).toBeUndefined();
    expect(call?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("sends Azure OpenAI requests through the egress guard, which refuses an endpoint it does not allow", async () => {
    const closed = new EgressGuard(parseEgressPolicy(["models.example.com"]));
    seen.length = 0;
    try {
      await expect(streamWith("azure", "gpt-4o-mini", [new HumanMessage("hi")], closed)).rejects.toThrow();
    } finally {
      await closed.close();
    }
    expect(seen).toHaveLength(0);
  });

  it("counts Anthropic's output tokens once, though its stream reports them twice", async () => {
    const { chunks, text } = await streamWith("anthropic", "claude-test");
    expect(text).toBe("Hello from Claude");
    // Input tokens include the ones read from the cache (10 + 3), as OpenAI's prompt_tokens do.
    expect(usageOf("anthropic", chunks)).toEqual({ inputTokens: 13, outputTokens: 7, cachedTokens: 3 });
    const call = seen.find((s) => s.path.endsWith("/v1/messages"));
    expect(call?.headers["x-api-key"]).toBe("test-key-anthropic");
    expect(call?.body).toMatchObject({ model: "claude-test", stream: true });
  });

  it("sends earlier turns' tool calls with their outcomes, as each provider expects them", async () => {
    const at = new Date();
    const base = {
      organizationId: "o",
      sessionId: "s",
      turnId: "t",
      status: "complete" as const,
      toolCallId: null,
      model: null,
      inputTokens: 0,
      outputTokens: 0,
      cachedTokens: 0,
      costUsd: 0 as never,
      createdAt: at,
    };
    const rows = [
      { ...base, id: "m1", position: 1, role: "user" as const, content: "add 1 and 2", toolCalls: [] },
      {
        ...base,
        id: "m2",
        position: 2,
        role: "assistant" as const,
        content: "",
        toolCalls: [
          {
            callId: "call_a",
            toolName: "add",
            arguments: { a: 1, b: 2 },
            status: "succeeded" as const,
            result: "3",
            error: null,
          },
          {
            callId: "call_b",
            toolName: "delete.item",
            arguments: {},
            status: "denied" as const,
            result: null,
            error: null,
          },
        ],
      },
      { ...base, id: "m3", position: 3, role: "assistant" as const, content: "It is 3.", toolCalls: [] },
    ];
    const messages = [...historyMessages(rows), new HumanMessage("and now?")];
    seen.length = 0;
    await streamWith("openai", "gpt-test", messages);
    const openAiBody = seen.find((s) => s.path.endsWith("/chat/completions"))?.body;
    expect(openAiBody.messages).toEqual([
      { role: "user", content: "add 1 and 2" },
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { id: "call_a", type: "function", function: { name: "add", arguments: '{"a":1,"b":2}' } },
          { id: "call_b", type: "function", function: { name: "delete_item", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "call_a", name: "add", content: "3" },
      {
        role: "tool",
        tool_call_id: "call_b",
        name: "delete_item",
        content: "A person denied this tool call; it was not run.",
      },
      { role: "assistant", content: "It is 3." },
      { role: "user", content: "and now?" },
    ]);
    await streamWith("anthropic", "claude-test", messages);
    const anthropicBody = seen.find((s) => s.path.endsWith("/v1/messages"))?.body;
    const toolUse = anthropicBody.messages.find((m: any) => m.role === "assistant" && Array.isArray(m.content));
    expect(toolUse.content.filter((c: any) => c.type === "tool_use").map((c: any) => c.id)).toEqual([
      "call_a",
      "call_b",
    ]);
    const results = anthropicBody.messages.flatMap((m: any) =>
      Array.isArray(m.content) ? m.content.filter((c: any) => c.type === "tool_result") : [],
    );
    expect(results.map((r: any) => r.tool_use_id)).toEqual(["call_a", "call_b"]);
  });
});

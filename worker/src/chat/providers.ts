import { ChatAnthropic } from "@langchain/anthropic";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { AIMessageChunk } from "@langchain/core/messages";
import { AzureChatOpenAI, ChatOpenAI } from "@langchain/openai";
import type { WorkerEnv } from "@sprintconnect/core";
import type { FetchLike } from "@sprintconnect/mcp";
import type { TokenUsage } from "./agent-config";
import { LOCAL_MODEL_NAME, LocalChatModel } from "./local-model";

export type LlmProvider = WorkerEnv["LLM_PROVIDER"];

/** The model LLM_MODEL names, or the provider's default. */
export function defaultModel(env: Pick<WorkerEnv, "LLM_PROVIDER" | "LLM_MODEL">): string {
  if (env.LLM_MODEL) return env.LLM_MODEL;
  switch (env.LLM_PROVIDER) {
    case "local":
      return LOCAL_MODEL_NAME;
    case "anthropic":
      return "claude-3-5-haiku-latest";
    default:
      return "gpt-4o-mini";
  }
}

/**
 * The chat model of a turn. Provider SDKs get the egress guard's fetch, so the provider's
 * host must be in ALLOWED_EGRESS_HOSTS like any other destination.
 */
export function createChatModel(env: WorkerEnv, model: string, fetch: FetchLike): BaseChatModel {
  switch (env.LLM_PROVIDER) {
    case "local":
      return new LocalChatModel();
    case "openai":
      return new ChatOpenAI({
        model,
        apiKey: env.LLM_API_KEY,
        streamUsage: true,
        maxRetries: 1,
        configuration: { fetch: fetch as never, ...(env.LLM_BASE_URL ? { baseURL: env.LLM_BASE_URL } : {}) },
      });
    case "azure":
      return new AzureChatOpenAI({
        model,
        azureOpenAIApiKey: env.LLM_API_KEY,
        azureOpenAIEndpoint: env.AZURE_OPENAI_ENDPOINT,
        azureOpenAIApiDeploymentName: env.AZURE_OPENAI_DEPLOYMENT,
        azureOpenAIApiVersion: env.AZURE_OPENAI_API_VERSION,
        streamUsage: true,
        maxRetries: 1,
        configuration: { fetch: fetch as never },
      });
    case "anthropic":
      return new ChatAnthropic({
        model,
        apiKey: env.LLM_API_KEY,
        maxRetries: 1,
        streamUsage: true,
        ...(env.LLM_BASE_URL ? { anthropicApiUrl: env.LLM_BASE_URL } : {}),
        clientOptions: { fetch: fetch as never },
      });
  }
}

/**
 * Token usage of one streamed model call, from its chunks. Chunks are summed, except
 * Anthropic's output tokens: its stream reports them twice (a preliminary count when the
 * message starts, the final count when it ends), so the largest report is the count.
 */
export function usageOf(provider: LlmProvider, chunks: readonly AIMessageChunk[]): TokenUsage {
  let inputTokens = 0;
  let outputTokens = 0;
  let cachedTokens = 0;
  for (const chunk of chunks) {
    const usage = chunk.usage_metadata;
    if (!usage) continue;
    inputTokens += usage.input_tokens ?? 0;
    cachedTokens += usage.input_token_details?.cache_read ?? 0;
    outputTokens =
      provider === "anthropic"
        ? Math.max(outputTokens, usage.output_tokens ?? 0)
        : outputTokens + (usage.output_tokens ?? 0);
  }
  return { inputTokens, outputTokens, cachedTokens };
}

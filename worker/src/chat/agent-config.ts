import { readFileSync } from "node:fs";
import { z } from "zod";

const DEFAULT_SYSTEM_PROMPT =
  "You are SprintConnect's test agent. Use the tools of the selected MCP servers to answer; say which tool you used and what it returned.";

const price = z
  .object({
    /** USD per million input tokens. */
    inputPerMillion: z.number().nonnegative(),
    /** USD per million input tokens read from the provider's cache (default: the input price). */
    cachedInputPerMillion: z.number().nonnegative().optional(),
    /** USD per million output tokens. */
    outputPerMillion: z.number().nonnegative(),
  })
  .strict();

/** The file LANGGRAPH_CONFIG_PATH names (JSON). */
export const agentConfigSchema = z
  .object({
    systemPrompt: z.string().min(1).max(20_000).optional(),
    /** Tools that always wait for a person's approval, as `tool` or `<serverId>/<tool>`; `destructiveHint: true` tools always do. */
    approval: z
      .object({ tools: z.array(z.string().min(1)).default([]) })
      .strict()
      .optional(),
    /** Price per model name. */
    prices: z.record(z.string(), price).default({}),
  })
  .strict();

export type ModelPrice = z.infer<typeof price>;

export interface AgentConfig {
  systemPrompt: string;
  approvalTools: ReadonlySet<string>;
  prices: Readonly<Record<string, ModelPrice>>;
}

/** Reads the agent's configuration; a missing or invalid file fails the worker's start. */
export function loadAgentConfig(path: string | undefined): AgentConfig {
  if (!path) return { systemPrompt: DEFAULT_SYSTEM_PROMPT, approvalTools: new Set(), prices: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`LANGGRAPH_CONFIG_PATH: cannot read ${path} as JSON (${(err as Error).message})`);
  }
  const parsed = agentConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`LANGGRAPH_CONFIG_PATH: ${path} is invalid (${issues})`);
  }
  return {
    systemPrompt: parsed.data.systemPrompt ?? DEFAULT_SYSTEM_PROMPT,
    approvalTools: new Set(parsed.data.approval?.tools ?? []),
    prices: parsed.data.prices,
  };
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Of the input tokens, those read from the provider's cache. */
  cachedTokens: number;
}

/** Cost in USD of one model call, with 8 decimals (the column's scale); 0 for an unpriced model. */
export function costOf(prices: AgentConfig["prices"], model: string, usage: TokenUsage): string {
  const p = prices[model];
  if (!p) return "0";
  const cached = Math.min(usage.cachedTokens, usage.inputTokens);
  const usd =
    ((usage.inputTokens - cached) * p.inputPerMillion +
      cached * (p.cachedInputPerMillion ?? p.inputPerMillion) +
      usage.outputTokens * p.outputPerMillion) /
    1_000_000;
  return usd.toFixed(8);
}

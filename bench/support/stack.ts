import { type Stack, startStack } from "../../test/support/stack";
import { print } from "./report";

/**
 * The test harness's in-process stack (gateway, four subgraphs, optionally the worker), on the
 * bench database (see setup-env.ts), with rate limits and quotas no bench can reach: the
 * limiter still runs on every request, as in production, but never refuses one.
 */
export function startBenchStack(
  options: { worker?: boolean } = {},
  overrides: Record<string, string> = {},
): Promise<Stack> {
  return startStack(
    {
      RATE_LIMIT_REQUESTS_PER_MINUTE: "100000000",
      RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: "100000000",
      QUOTA_REQUESTS_PER_DAY: "1000000000",
      OUTPUTS_DIR: "outputs/bench/worker",
      ...overrides,
    },
    options,
  );
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One line on stdout, so a long bench shows where it is. */
export function progress(text: string): void {
  print(`  .. ${text}\n`);
}

import type { ProbeResult } from "@sprintconnect/mcp";

export type HealthStatus = ProbeResult | "unknown";

export interface HealthState {
  status: HealthStatus;
  /** The result recent checks agree on, while it has not been seen `threshold` times. */
  candidate: ProbeResult | null;
  candidateRun: number;
}

/**
 * The next state after one probe. A server's state changes only after `threshold` consecutive
 * results agree on a new state, so one blip does not flap it; the first result of a server
 * whose state is unknown is taken at once.
 */
export function nextHealthState(
  state: HealthState,
  result: ProbeResult,
  threshold: number,
): HealthState & { changed: boolean } {
  if (state.status === "unknown") return { status: result, candidate: null, candidateRun: 0, changed: true };
  if (result === state.status) return { status: state.status, candidate: null, candidateRun: 0, changed: false };
  const run = state.candidate === result ? state.candidateRun + 1 : 1;
  if (run >= threshold) return { status: result, candidate: null, candidateRun: 0, changed: true };
  return { status: state.status, candidate: result, candidateRun: run, changed: false };
}

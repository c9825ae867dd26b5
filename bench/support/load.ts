import { fork } from "node:child_process";
import { join } from "node:path";
import { type Summary, summarize } from "./stats";

export interface LoadSpec {
  /** An HTTP endpoint, or `pg` below instead. */
  url?: string;
  /** Instead of HTTP: one named prepared statement per "request" on a `pg` pool of `concurrency` connections. */
  pg?: { connectionString: string; name: string; text: string; values: unknown[]; expectRows: number };
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /** Requests in flight at once, each on its own keep-alive connection. */
  concurrency: number;
  /** Unrecorded run-up (JIT, connection pools, caches). */
  warmupMs: number;
  /** ...and at least this many requests in it (a busy machine serves few), up to `maxWarmupMs`. */
  warmupRequests?: number;
  maxWarmupMs?: number;
  /** The measured phase ends after this long... */
  durationMs: number;
  /** ...or after this many requests, whichever comes first. */
  maxRequests: number;
  expectStatus?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  /** Requests answered per second in the measured phase, errors included. */
  rps: number;
  elapsedMs: number;
  latency: Summary;
  statuses: Record<string, number>;
  firstError?: string;
  /** CPU time of the load generator itself in the measured phase. */
  clientCpuMs: number;
}

interface Raw {
  latencies: number[];
  errors: number;
  statuses: Record<string, number>;
  firstError?: string;
  elapsedMs: number;
  cpuMs: number;
  requests: number;
  failure?: string;
}

/**
 * Runs `load-generator.mjs` in a child process (its own event loop, the other core) and
 * summarizes. `hooks.measuring` runs when the warm-up ends; `hooks.done` when the result
 * arrives, while the child (and a `pg` pool's connections) still exist: the moments to read
 * other processes' CPU time.
 */
export function runLoad(
  spec: LoadSpec,
  hooks: { measuring?: () => void; done?: () => void } = {},
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, "load-generator.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let answered = false;
    child.on("message", (message) => {
      if ((message as { measuring?: boolean }).measuring) {
        hooks.measuring?.();
        return;
      }
      answered = true;
      hooks.done?.();
      child.disconnect();
      const raw = message as Raw;
      if (raw.failure) {
        reject(new Error(`load generator failed: ${raw.failure}`));
        return;
      }
      resolve({
        requests: raw.requests,
        errors: raw.errors,
        rps: raw.requests / (raw.elapsedMs / 1000),
        elapsedMs: raw.elapsedMs,
        latency: summarize(raw.latencies),
        statuses: raw.statuses,
        clientCpuMs: raw.cpuMs,
        ...(raw.firstError ? { firstError: raw.firstError } : {}),
      });
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (!answered) reject(new Error(`load generator exited with ${code} before answering`));
    });
    child.send(spec);
  });
}

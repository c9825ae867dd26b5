import { timingSafeEqual } from "node:crypto";

/** How long one dependency check may take before it counts as down. */
const CHECK_TIMEOUT_MS = 2_000;

/** One dependency's state, as `/ready` and `/health/detailed` report it. */
export interface DependencyCheck {
  status: "ok" | "down";
  latencyMs: number;
  error?: string;
}

/** Runs one check with a timeout and times it. */
export async function checkDependency(check: () => Promise<unknown>): Promise<DependencyCheck> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out")), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: "ok", latencyMs: Math.round(performance.now() - start) };
  } catch (err) {
    return { status: "down", latencyMs: Math.round(performance.now() - start), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs named checks at once; ready when every one is ok. */
export async function checkDependencies(
  checks: Record<string, () => Promise<unknown>>,
): Promise<{ ready: boolean; checks: Record<string, DependencyCheck> }> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((n) => checkDependency(checks[n] as () => Promise<unknown>)));
  return {
    ready: results.every((r) => r.status === "ok"),
    checks: Object.fromEntries(names.map((n, i) => [n, results[i] as DependencyCheck])),
  };
}

/**
 * Who may read the operational endpoints (`/metrics`, `/health/detailed`): with METRICS_TOKEN
 * set, a caller presenting it as a bearer token; without it, anyone in development (a local
 * checkout) and nobody elsewhere, where the endpoints are not served at all.
 */
export function operationsAccess(
  authorization: string | undefined,
  env: { APP_ENV: string; METRICS_TOKEN?: string | undefined },
): "allowed" | "unauthenticated" | "disabled" {
  if (!env.METRICS_TOKEN) return env.APP_ENV === "development" ? "allowed" : "disabled";
  const given = Buffer.from(/^Bearer (.+)$/.exec(authorization ?? "")?.[1] ?? "");
  const expected = Buffer.from(env.METRICS_TOKEN);
  return given.length === expected.length && timingSafeEqual(given, expected) ? "allowed" : "unauthenticated";
}

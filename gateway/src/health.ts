import type { PrismaClient, Redis } from "@sprintconnect/core";
import type { FastifyInstance } from "fastify";

const CHECK_TIMEOUT_MS = 2_000;

interface CheckResult {
  status: "ok" | "down";
  latencyMs: number;
  error?: string;
}

async function timed(check: () => Promise<unknown>): Promise<CheckResult> {
  const start = performance.now();
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), CHECK_TIMEOUT_MS).unref()),
    ]);
    return { status: "ok", latencyMs: Math.round(performance.now() - start) };
  } catch (err) {
    return { status: "down", latencyMs: Math.round(performance.now() - start), error: (err as Error).message };
  }
}

/** `/health` for load balancers, `/health/detailed` with every dependency, `/ready` for Kubernetes. */
export function registerHealthRoutes(
  app: FastifyInstance,
  deps: { db: PrismaClient; redis: Redis; subgraphUrls: Record<string, string> },
): void {
  const database = () => timed(() => deps.db.$queryRaw`SELECT 1`);
  const redis = () => timed(() => deps.redis.ping());
  const subgraph = (url: string) =>
    timed(async () => {
      const res = await fetch(new URL("/health", url), { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    });

  app.get("/health", async () => ({ status: "ok" }));

  app.get("/health/detailed", async (_request, reply) => {
    const names = Object.keys(deps.subgraphUrls);
    const [db, cache, ...subgraphs] = await Promise.all([
      database(),
      redis(),
      ...names.map((n) => subgraph(deps.subgraphUrls[n] as string)),
    ]);
    const checks = {
      postgres: db,
      redis: cache,
      subgraphs: Object.fromEntries(names.map((n, i) => [n, subgraphs[i] as CheckResult])),
    };
    const ok = [db, cache, ...subgraphs].every((c) => c?.status === "ok");
    return reply.code(ok ? 200 : 503).send({ status: ok ? "ok" : "degraded", checks });
  });

  app.get("/ready", async (_request, reply) => {
    const [db, cache] = await Promise.all([database(), redis()]);
    const ok = db.status === "ok" && cache.status === "ok";
    return reply
      .code(ok ? 200 : 503)
      .send({ status: ok ? "ready" : "unavailable", checks: { postgres: db, redis: cache } });
  });
}

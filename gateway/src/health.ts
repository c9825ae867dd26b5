import {
  AppError,
  checkDependencies,
  checkDependency,
  type DependencyCheck,
  ErrorCode,
  type GatewayEnv,
  operationsAccess,
  type PrismaClient,
  type Redis,
} from "@sprintconnect/core";
import type { FastifyInstance, FastifyRequest } from "fastify";

/** How long the gateway waits for a subgraph's `/ready`. */
const SUBGRAPH_TIMEOUT_MS = 2_000;

/** A subgraph's readiness, with the dependencies it reported itself. */
interface SubgraphCheck extends DependencyCheck {
  checks?: Record<string, DependencyCheck>;
}

/**
 * Refuses an operational endpoint to a caller without METRICS_TOKEN (see `operationsAccess`):
 * UNAUTHENTICATED when a token is configured, NOT_FOUND where the endpoints are not served.
 */
export function requireOperationsAccess(env: Pick<GatewayEnv, "APP_ENV" | "METRICS_TOKEN">) {
  return async (request: FastifyRequest) => {
    const access = operationsAccess(request.headers.authorization, env);
    if (access === "unauthenticated") {
      throw new AppError(ErrorCode.UNAUTHENTICATED, "This endpoint needs the metrics token");
    }
    if (access === "disabled") throw new AppError(ErrorCode.NOT_FOUND, `No route GET ${request.url.split("?")[0]}`);
  };
}

/**
 * `/health` for load balancers (the process answers), `/ready` (PostgreSQL and Redis answer;
 * states only, no error text, since it is open), and `/health/detailed` (operators only): each
 * dependency with its error, and each subgraph's own `/ready`, which checks its database and
 * Redis, so a subgraph that lost its database shows as not ready.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  deps: { env: GatewayEnv; db: PrismaClient; redis: Redis; subgraphUrls: Record<string, string> },
): void {
  const own = {
    postgres: () => deps.db.$queryRaw`SELECT 1`,
    redis: () => deps.redis.ping(),
  };
  const subgraph = async (url: string): Promise<SubgraphCheck> => {
    let reported: Record<string, DependencyCheck> | undefined;
    const result = await checkDependency(async () => {
      const res = await fetch(new URL("/ready", url), { signal: AbortSignal.timeout(SUBGRAPH_TIMEOUT_MS) });
      const body = (await res.json().catch(() => null)) as { checks?: Record<string, DependencyCheck> } | null;
      reported = body?.checks;
      if (!res.ok) throw new Error(`not ready (HTTP ${res.status})`);
    });
    return reported ? { ...result, checks: reported } : result;
  };

  app.get("/health", async () => ({ status: "ok" }));

  app.get("/health/detailed", { preHandler: requireOperationsAccess(deps.env) }, async (_request, reply) => {
    const names = Object.keys(deps.subgraphUrls);
    const [mine, ...subgraphs] = await Promise.all([
      checkDependencies(own),
      ...names.map((n) => subgraph(deps.subgraphUrls[n] as string)),
    ]);
    const ok = mine.ready && subgraphs.every((c) => c.status === "ok");
    return reply.code(ok ? 200 : 503).send({
      status: ok ? "ok" : "degraded",
      checks: { ...mine.checks, subgraphs: Object.fromEntries(names.map((n, i) => [n, subgraphs[i]])) },
    });
  });

  app.get("/ready", async (_request, reply) => {
    const { ready, checks } = await checkDependencies(own);
    const states = Object.fromEntries(Object.entries(checks).map(([n, c]) => [n, { status: c.status }]));
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "unavailable", checks: states });
  });
}

// First: patches how @apollo/gateway calls @apollo/federation-internals, before it loads.
import "./federation-exports";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Supergraph } from "@apollo/federation-internals";
import fastifyApollo from "@as-integrations/fastify";
import cors from "@fastify/cors";
import {
  AppError,
  createOutputs,
  ErrorCode,
  type GatewayEnv,
  HTTP_STATUS,
  InternalTokenSigner,
  type KeyRing,
  type Logger,
  type Principal,
  type PrismaClient,
  type Redis,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
  UsageRecorder,
  unavailableDependency,
} from "@sprintconnect/core";
import { EgressGuard, parseEgressPolicy } from "@sprintconnect/mcp";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { AuthCache } from "./auth/auth-cache";
import { authFailurePlugin } from "./auth/auth-failures";
import { Authenticator } from "./auth/authenticate";
import { AuthInvalidations } from "./auth/invalidations";
import { LastUsedRecorder } from "./auth/last-used";
import { serveChatStream } from "./chat-stream";
import { drainRequest } from "./drain";
import { createArmor, createGraphQLServer, type GatewayContext } from "./graphql";
import { registerHealthRoutes, requireOperationsAccess } from "./health";
import { httpStatusPlugin } from "./http-status";
import { GatewayMetrics } from "./metrics";
import { RateLimits } from "./rate-limit";
import { auditExportOpenApi, auditExportUrl, registerAuditExport } from "./rest/audit-export";
import { chatExportOpenApi, registerChatExport } from "./rest/chat-export";
import { compileRoutes } from "./rest/compile";
import { buildOpenApi } from "./rest/openapi";
import { registerRestRoutes } from "./rest/register";
import { ROUTES } from "./rest/routes";
import { serveSubscriptions } from "./subscriptions";
import { requestUsage } from "./usage";

/** The composed supergraph committed in `schema/`, whether running from src/ or dist/. */
export const SUPERGRAPH_PATH = resolve(__dirname, "../../schema/supergraph.graphql");

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
    /** The GraphQL context of this request, once it ran an operation (GraphQL or REST). */
    graphqlContext: GatewayContext | null;
  }
}

export interface GatewayDeps {
  env: GatewayEnv;
  db: PrismaClient;
  redis: Redis;
  keys: KeyRing;
  apiKeyPepper: string;
  logger: Logger;
  supergraphSdl?: string;
}

/** Paths served without authentication or rate limits (`/metrics` and `/health/detailed` need METRICS_TOKEN). */
const OPEN_PATHS = new Set([
  "/health",
  "/health/detailed",
  "/ready",
  "/metrics",
  "/.well-known/jwks.json",
  "/v1/openapi.json",
]);

/** An error body in the REST shape. */
export function restError(code: ErrorCode, message: string, requestId: string, details?: unknown) {
  return { error: { code, message, requestId, ...(details ? { details } : {}) } };
}

/** Fastify's own errors (body parsing, size, content type) mapped to our codes. */
function fastifyErrorCode(err: FastifyError): ErrorCode {
  if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") return ErrorCode.PAYLOAD_TOO_LARGE;
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return ErrorCode.BAD_REQUEST;
  return ErrorCode.INTERNAL;
}

/**
 * The gateway: GraphQL at /graphql over the static supergraph, the REST table, health,
 * metrics and JWKS, with authentication and rate limits in front of everything that is not
 * open. Returns the app (not yet listening) and a close function that drains it.
 */
export async function createGatewayApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const { env, logger } = deps;
  const production = env.APP_ENV === "production";
  const supergraphSdl = deps.supergraphSdl ?? readFileSync(SUPERGRAPH_PATH, "utf8");
  const supergraph = Supergraph.build(supergraphSdl);
  const apiSchema = supergraph.apiSchema().toGraphQLJSSchema();
  const routes = compileRoutes(ROUTES, apiSchema);
  const openApi = buildOpenApi(routes, apiSchema, {
    ...chatExportOpenApi(apiSchema),
    ...auditExportOpenApi(apiSchema),
  });
  const metrics = new GatewayMetrics(routes.flatMap((r) => (r.operation.name ? [r.operation.name.value] : [])));
  // S3 exports (issue 10): chat exports go under OUTPUTS_DIR, and to S3 when configured. That
  // connection is the gateway's only outbound one besides its subgraphs: through the egress guard.
  const egress = new EgressGuard(parseEgressPolicy(env.ALLOWED_EGRESS_HOSTS), { logger });
  const outputs = await createOutputs(env, { logger, egress, registry: metrics.registry });
  const limits = new RateLimits(deps.redis, env);
  const authCache = new AuthCache(env.AUTH_CACHE_TTL_SECONDS * 1000, env.AUTH_CACHE_MAX_ENTRIES);
  const invalidations = new AuthInvalidations(authCache, logger);
  await invalidations.start(env.REDIS_URL, deps.redis);
  const lastUsed = new LastUsedRecorder(deps.db, env.API_KEY_LAST_USED_FLUSH_SECONDS * 1000, logger);
  const authenticator = new Authenticator(
    deps.db,
    deps.keys,
    { issuer: env.JWT_ISSUER, apiKeyPepper: deps.apiKeyPepper },
    limits,
    authCache,
    lastUsed,
  );

  const app = Fastify({
    logger: false,
    bodyLimit: env.MAX_BODY_BYTES,
    // GET /v1/audit/logs with `format` is the audit export (issue 9); without, the table's page.
    rewriteUrl: (req) => auditExportUrl(req.method, req.url ?? "/"),
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
    },
  });
  app.decorateRequest("principal", null);
  app.decorateRequest("graphqlContext", null);

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  const usage = env.USAGE_RECORDING
    ? new UsageRecorder(deps.db, logger, {
        flushIntervalMs: env.USAGE_FLUSH_INTERVAL_MS,
        maxBuffered: env.USAGE_MAX_BUFFERED,
      })
    : null;
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    // Every authenticated request is metered, refused ones included (a 429 is a use too).
    const principal = request.principal;
    if (usage && principal) usage.record(requestUsage(principal, request, route, reply.statusCode, reply.elapsedTime));
  });
  if (env.CORS_ORIGINS.length > 0) {
    await app.register(cors, { origin: env.CORS_ORIGINS, credentials: false });
  }

  /** The one way an error leaves the gateway: status from the code table, Retry-After, shape by path. */
  const replyError: ErrorReplier = (code, message, request, reply, details) => {
    if (code === ErrorCode.RATE_LIMITED || code === ErrorCode.QUOTA_EXCEEDED) {
      metrics.rateLimited.inc({ code });
      reply.header("retry-after", String(details?.retryAfter ?? 1));
    } else if (code === ErrorCode.SERVICE_UNAVAILABLE && typeof details?.retryAfter === "number") {
      reply.header("retry-after", String(details.retryAfter));
    }
    const status = HTTP_STATUS[code];
    if (request.url.startsWith("/graphql")) {
      return reply.code(status).send({ errors: [{ message, extensions: { code, ...(details ? { details } : {}) } }] });
    }
    return reply.code(status).send(restError(code, message, request.id, details));
  };

  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    let code: ErrorCode;
    let message: string;
    let details: Record<string, unknown> | undefined;
    // Authentication reads PostgreSQL and Redis on every request; a restart or an overload there is worth a retry.
    const dependency = err instanceof AppError ? null : unavailableDependency(err);
    if (err instanceof AppError) {
      code = err.code;
      message = err.message;
      details = err.extensions.details as Record<string, unknown> | undefined;
    } else if (dependency) {
      code = ErrorCode.SERVICE_UNAVAILABLE;
      message = `${dependency} is unavailable; retry later`;
      details = { retryAfter: UNAVAILABLE_RETRY_AFTER_SECONDS };
      logger.warn({ err, requestId: request.id }, `${dependency} is unavailable`);
    } else {
      code = fastifyErrorCode(err);
      message = code === ErrorCode.INTERNAL ? "Internal error" : err.message;
    }
    if (code === ErrorCode.INTERNAL) logger.error({ err, requestId: request.id }, "request failed");
    // The connection closes after this answer (Fastify sets `connection: close`): let the
    // client finish sending first, or it sees EPIPE instead of the 413.
    if (code === ErrorCode.PAYLOAD_TOO_LARGE) await drainRequest(request.raw);
    return replyError(code, message, request, reply, details);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(restError(ErrorCode.NOT_FOUND, `No route ${request.method} ${request.url.split("?")[0]}`, request.id)),
  );

  // Authentication and rate limits for everything that is not open.
  app.addHook("preHandler", async (request: FastifyRequest) => {
    if (OPEN_PATHS.has(request.routeOptions.url ?? "")) return;
    request.principal = await authenticator.admit(request.headers.authorization, request.ip);
  });

  const signer = new InternalTokenSigner(deps.keys);
  const subgraphUrls = {
    registry: env.REGISTRY_SUBGRAPH_URL,
    chat: env.CHAT_SUBGRAPH_URL,
    metrics: env.METRICS_SUBGRAPH_URL,
    admin: env.ADMIN_SUBGRAPH_URL,
  };
  const apollo = createGraphQLServer({
    supergraphSdl,
    subgraphUrls,
    signer,
    logger,
    production,
    // The HTTP status of an error without data, decided on the formatted result (HTTP and REST alike).
    // Failed logins and refreshes count against the client's IP like failed credentials.
    plugins: [metrics.apolloPlugin(), authFailurePlugin(limits), httpStatusPlugin()],
  });
  // --- S3 exports (issue 10) ---
  app.addHook("onClose", async () => {
    await outputs.close(env.SHUTDOWN_TIMEOUT_SECONDS * 1000);
    await egress.close();
  });
  // --- end S3 exports ---
  await apollo.start();
  // Fastify's close stops accepting, lets in-flight requests finish and closes idle
  // connections; then Apollo stops. (Apollo's Fastify drain plugin would call close again.)
  app.addHook("onClose", async () => {
    await apollo.stop();
    await Promise.all([lastUsed.stop(), invalidations.close(), usage?.stop()]);
  });

  const contextOf = (request: FastifyRequest): GatewayContext => {
    request.graphqlContext = {
      principal: request.principal,
      requestId: request.id,
      ip: request.ip,
      operation: { name: null },
    };
    return request.graphqlContext;
  };
  await app.register(fastifyApollo(apollo), { path: "/graphql", context: async (request) => contextOf(request) });
  // Subscriptions: graphql-ws on the same path and port, forwarded to the owning subgraph.
  serveSubscriptions(app, {
    supergraph,
    apiSchema,
    subgraphUrls,
    authenticator,
    invalidations,
    limits,
    signer,
    logger,
    metrics,
    production,
    validationRules: createArmor(production).validationRules,
    maxPayload: env.MAX_BODY_BYTES,
  });

  // The seed's chat socket, WS /v1/chat/sessions/{id}/stream: the same operations and events.
  serveChatStream(app, {
    apollo,
    authenticator,
    limits,
    signer,
    chatSubgraphUrl: env.CHAT_SUBGRAPH_URL,
    logger,
    maxPayload: env.MAX_BODY_BYTES,
  });

  registerRestRoutes(app, routes, apollo, contextOf, replyError);
  registerChatExport(app, apollo, contextOf, replyError, outputs);
  registerAuditExport(app, apollo, contextOf, replyError, outputs);
  app.get("/v1/openapi.json", async () => openApi);
  app.get("/.well-known/jwks.json", async (_request, reply) => {
    reply.header("cache-control", "public, max-age=300");
    return { keys: [deps.keys.publicJwk] };
  });
  app.get("/metrics", { preHandler: requireOperationsAccess(env) }, async (_request, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  registerHealthRoutes(app, { env, db: deps.db, redis: deps.redis, subgraphUrls });
  return app;
}

export type ErrorReplier = (
  code: ErrorCode,
  message: string,
  request: FastifyRequest,
  reply: FastifyReply,
  details?: Record<string, unknown>,
) => FastifyReply;

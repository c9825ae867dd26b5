import { randomUUID } from "node:crypto";
import { ApolloServer } from "@apollo/server";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from "@apollo/server/plugin/disabled";
import fastifyApollo from "@as-integrations/fastify";
import {
  AppError,
  checkDependencies,
  ErrorCode,
  INTERNAL_TOKEN_HEADER,
  type InternalTokenVerifier,
  type Logger,
  normalizeErrorCode,
  type Principal,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
  unavailableDependency,
} from "@sprintconnect/core";
import Fastify, { type FastifyInstance } from "fastify";
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import type { SubgraphContext } from "./context";
import type { EventSource } from "./events";
import { compiledSchemaGateway } from "./executor";
import { serveSubscriptions } from "./subscriptions";

/** Largest request body (HTTP) or message (WebSocket) a subgraph accepts. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

export interface SubgraphAppOptions {
  name: string;
  schema: GraphQLSchema;
  verifier: InternalTokenVerifier;
  logger: Logger;
  /**
   * What must answer for the subgraph to be ready, by name (its database and Redis): `/ready`
   * runs each and answers 503, naming the one that failed, when any does.
   */
  readiness?: Record<string, () => Promise<unknown>>;
  production: boolean;
  /**
   * Live events for subscriptions, shared by every app of the process (one Redis connection).
   * The caller owns it and closes it after the app. Without it, subscriptions answer
   * SERVICE_UNAVAILABLE.
   */
  events?: EventSource;
}

/**
 * Formats every error a subgraph returns: our codes pass through, Apollo's and graphql-js's
 * are folded into the closed list, a database that could not serve the request (unreachable, a
 * lost connection, no free connection, a statement, lock or transaction timeout, a deadlock:
 * `isDatabaseUnavailable`) or a Redis that could not be reached (`isRedisUnavailable`) is
 * SERVICE_UNAVAILABLE with `retryAfter`, and anything unexpected becomes INTERNAL with a generic
 * message (the original is logged). No stack traces ever leave the process.
 */
export function formatSubgraphError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original: unknown = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    if (original instanceof AppError) {
      return { message: original.message, path: formatted.path, extensions: { ...original.extensions } };
    }
    const unavailable = unavailableDependency(original);
    if (unavailable) {
      logger.warn({ err: original, path: formatted.path }, `${unavailable} is unavailable`);
      return {
        message: `${unavailable} is unavailable; retry later`,
        path: formatted.path,
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, details: { retryAfter: UNAVAILABLE_RETRY_AFTER_SECONDS } },
      };
    }
    const code = normalizeErrorCode(formatted.extensions?.code);
    if (code === ErrorCode.INTERNAL) {
      logger.error({ err: original, path: formatted.path }, "unexpected resolver error");
      return { message: "Internal error", path: formatted.path, extensions: { code } };
    }
    return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code } };
  };
}

/**
 * A Fastify app serving one subgraph at /graphql (HTTP, and graphql-ws for subscriptions on
 * the same path and port), with /health (the process answers) and /ready (its dependencies do).
 */
export async function createSubgraphApp(options: SubgraphAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: MAX_BODY_BYTES });
  const apollo = new ApolloServer<SubgraphContext>({
    // The schema, with queries executed by graphql-jit (see executor.ts).
    gateway: compiledSchemaGateway(options.schema, options.logger),
    introspection: !options.production,
    includeStacktraceInErrorResponses: false,
    // The process's own SIGTERM/SIGINT handler drains and stops everything (usage, spans) before
    // it exits; Apollo's would stop the server and re-raise the signal, killing the process first.
    stopOnTerminationSignals: false,
    formatError: formatSubgraphError(options.logger),
    // Compact JSON: Apollo's default indents every response, which only the gateway reads.
    stringifyResult: (result) => JSON.stringify(result),
    // Apollo's default plugins, none of which we use: traces and usage go to Apollo Studio; cache
    // control hooks every field of every response (`willResolveField`, which makes Apollo wrap
    // every resolver) to compute hints no schema declares; the landing page is for browsers,
    // and only the gateway is reached.
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
    ],
  });
  await apollo.start();
  app.addHook("onClose", async () => {
    await apollo.stop();
  });

  app.get("/health", async () => ({ status: "ok", service: options.name }));
  // Subgraphs are reached only by the gateway (not published), which reports these details
  // on its operator-only /health/detailed.
  app.get("/ready", async (_req, reply) => {
    const { ready, checks } = await checkDependencies(options.readiness ?? {});
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "unavailable", checks });
  });

  await app.register(fastifyApollo(apollo), {
    path: "/graphql",
    context: async (request): Promise<SubgraphContext> => {
      const requestId = (request.headers["x-request-id"] as string | undefined) ?? randomUUID();
      const token = request.headers[INTERNAL_TOKEN_HEADER];
      const principal = typeof token === "string" && token ? await options.verifier.verify(token) : null;
      const forwardedIp = request.headers["x-sprintconnect-client-ip"];
      return new RequestContext(
        principal,
        requestId,
        typeof forwardedIp === "string" ? forwardedIp : null,
        options.logger,
        options.events,
      );
    },
  });
  serveSubscriptions(app, {
    schema: options.schema,
    verifier: options.verifier,
    logger: options.logger,
    production: options.production,
    formatError: formatSubgraphError(options.logger),
    maxPayload: MAX_BODY_BYTES,
    ...(options.events ? { events: options.events } : {}),
  });
  return app;
}

/**
 * One HTTP request's context. Its child logger is made when something first logs: most requests
 * log nothing, and pino's `child` (bindings serialized, redaction applied) was ~2% of the
 * registry's CPU per list request. A getter on the prototype, so Apollo's copy of the context
 * (`Object.assign` onto an object of the same prototype) keeps it lazy.
 */
class RequestContext implements SubgraphContext {
  private child: Logger | undefined = undefined;
  readonly events?: EventSource;

  constructor(
    readonly principal: Principal | null,
    readonly requestId: string,
    readonly ip: string | null,
    private readonly root: Logger,
    events: EventSource | undefined,
  ) {
    if (events) this.events = events;
  }

  get logger(): Logger {
    this.child ??= this.root.child({ requestId: this.requestId });
    return this.child;
  }
}

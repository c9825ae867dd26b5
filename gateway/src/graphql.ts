// First: patches how @apollo/gateway calls @apollo/federation-internals, before it loads.
import "./federation-exports";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import {
  AppError,
  ErrorCode,
  INTERNAL_TOKEN_HEADER,
  type InternalTokenSigner,
  type Logger,
  normalizeErrorCode,
  type Principal,
} from "@sprintconnect/core";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { withErrorStatus } from "./http-status";
import { unsafeTextPlugin } from "./input-text";
import { createSubgraphFetcher } from "./subgraph-fetcher";

/** What every gateway operation runs with. */
export interface GatewayContext {
  principal: Principal | null;
  requestId: string;
  ip: string;
  /**
   * Filled once Apollo resolved the operation (for usage metering): its name, null when
   * anonymous. An object, because Apollo runs the operation on a shallow copy of the context.
   */
  operation: { name: string | null };
}

/** Sends each subgraph request with the internal token, the request id and the client IP. */
class InternalDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    url: string,
    private readonly signer: InternalTokenSigner,
    fetcher: RemoteGraphQLDataSource["fetcher"],
  ) {
    // Keep-alive connections (the default fetcher opened one per request), see subgraph-fetcher.ts.
    super({ url, fetcher });
  }

  override async willSendRequest({
    request,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>["willSendRequest"]>>[0]): Promise<void> {
    const headers = request.http?.headers;
    if (!headers) return;
    if (context.principal) headers.set(INTERNAL_TOKEN_HEADER, await this.signer.sign(context.principal));
    if (context.requestId) headers.set("x-request-id", context.requestId);
    if (context.ip) headers.set("x-sprintconnect-client-ip", context.ip);
  }
}

/**
 * Folds every error into the closed list of codes. Our codes from subgraphs pass through
 * with their details; a subgraph that cannot be reached is SERVICE_UNAVAILABLE; anything
 * unexpected is INTERNAL with a generic message. No stack traces, no subgraph internals.
 */
export function formatGatewayError(logger: Logger) {
  return (given: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original: unknown = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    if (original instanceof AppError) {
      return { message: original.message, path: given.path, extensions: { ...original.extensions } };
    }
    // A subgraph that refused a request outright (HTTP 4xx, e.g. a variable its scalars
    // reject) reaches us wrapped; its own first error is the one that explains it.
    const downstream = (given.extensions?.response as { body?: { errors?: GraphQLFormattedError[] } } | undefined)?.body
      ?.errors?.[0];
    const formatted = downstream ? { ...downstream, path: given.path } : given;
    let code = normalizeErrorCode(formatted.extensions?.code);
    const details = formatted.extensions?.details;
    // A subgraph's own SERVICE_UNAVAILABLE is one of our AppErrors, message written by us (it
    // says what is unavailable: "OIDC login is not configured", "The database is unavailable").
    const stated = code === ErrorCode.SERVICE_UNAVAILABLE && typeof formatted.message === "string";
    if (code === ErrorCode.INTERNAL && /ECONNREFUSED|fetch failed|socket hang up|ECONNRESET/i.test(formatted.message)) {
      code = ErrorCode.SERVICE_UNAVAILABLE;
    }
    if (code === ErrorCode.INTERNAL || code === ErrorCode.SERVICE_UNAVAILABLE) {
      // A subgraph's own SERVICE_UNAVAILABLE is expected under load (the database too busy: it
      // says retryAfter) and was logged where it happened; an unreachable subgraph or INTERNAL is not.
      const level = stated ? "warn" : "error";
      logger[level]({ err: original, message: formatted.message, path: formatted.path }, "operation failed");
      const message =
        code === ErrorCode.INTERNAL
          ? "Internal error"
          : stated
            ? formatted.message
            : "A service is unavailable; retry later";
      // An AppError's details are safe for the caller: they say which dependency (e.g. `vault`).
      const kept = code === ErrorCode.SERVICE_UNAVAILABLE && details ? { details } : {};
      return { message, path: formatted.path, extensions: { code, ...kept } };
    }
    return {
      message: formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code, ...(details ? { details } : {}) },
    };
  };
}

export interface GraphQLServerOptions {
  supergraphSdl: string;
  /** Subgraph name → URL, overriding the URLs written in the supergraph. */
  subgraphUrls: Record<string, string>;
  signer: InternalTokenSigner;
  logger: Logger;
  production: boolean;
  plugins: ApolloServerPlugin<GatewayContext>[];
}

/** Limits on depth, aliases, directives, tokens and cost, for HTTP and WebSocket operations alike. */
export function createArmor(production: boolean) {
  return new ApolloArmor({
    maxDepth: { n: 12 },
    maxAliases: { n: 15 },
    maxDirectives: { n: 30 },
    maxTokens: { n: 3000 },
    costLimit: { maxCost: 10_000 },
    blockFieldSuggestion: { enabled: production },
  }).protect();
}

/** Apollo Server over `@apollo/gateway` with the static supergraph. */
export function createGraphQLServer(options: GraphQLServerOptions): ApolloServer<GatewayContext> {
  const subgraphs = createSubgraphFetcher();
  // @apollo/gateway 2.x sends usage metrics to Apollo's OpenTelemetry endpoint unless this is
  // set, and first probes the AWS, GCP, Azure and Alibaba metadata addresses to describe the
  // host: outbound traffic nobody configured, from the one public process. It reads the switch
  // in its constructor, so it is set just before.
  process.env.APOLLO_TELEMETRY_DISABLED = "true";
  const gateway = new ApolloGateway({
    supergraphSdl: options.supergraphSdl,
    buildService: ({ name, url }) =>
      new InternalDataSource(options.subgraphUrls[name] ?? (url as string), options.signer, subgraphs.fetcher),
  });
  const armor = createArmor(options.production);
  return new ApolloServer<GatewayContext>({
    // @apollo/gateway is typed against the 1.x gateway interface; it runs under Server 5.
    gateway: gateway as never,
    introspection: !options.production,
    includeStacktraceInErrorResponses: false,
    // The process's own SIGTERM/SIGINT handler drains and stops everything (usage, spans) before
    // it exits; Apollo's would stop the server and re-raise the signal, killing the process first.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: false,
    validationRules: armor.validationRules,
    formatError: formatGatewayError(options.logger),
    // Compact JSON: Apollo's default indents every response (more CPU and bytes for no reader).
    stringifyResult: (result) => JSON.stringify(result),
    plugins: [
      // The subgraph connections close with the server.
      { serverWillStart: async () => ({ serverWillStop: () => subgraphs.close() }) },
      ...(armor.plugins as ApolloServerPlugin<GatewayContext>[]).map(withErrorStatus),
      unsafeTextPlugin<GatewayContext>(),
      options.production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
      ...options.plugins,
    ],
  });
}

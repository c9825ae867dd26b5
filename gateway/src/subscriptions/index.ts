import type { Supergraph } from "@apollo/federation-internals";
import { AppError, ErrorCode, type InternalTokenSigner, type Logger, normalizeErrorCode } from "@sprintconnect/core";
import { routeUpgrades } from "@sprintconnect/subgraph-kit/websocket";
import type { FastifyInstance } from "fastify";
import type { ExecutionResult, GraphQLFormattedError, GraphQLSchema, ValidationRule } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { type WebSocket, WebSocketServer } from "ws";
import type { Authenticator } from "../auth/authenticate";
import type { AuthInvalidations } from "../auth/invalidations";
import type { GatewayMetrics } from "../metrics";
import type { RateLimits } from "../rate-limit";
import { type AuthenticatedConnection, ConnectionAuth } from "./connection-auth";
import { SocketWriter } from "./delivery";
import { clientErrors } from "./forwarding";
import { type RoutedSubscription, SubscriptionRouter } from "./routing";
import { SharedSubscriptions } from "./sharing";

/** Subscriptions one connection may have open at once. */
const MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;
/** How often an open connection's credentials are checked again (a revoked key ends it). */
const REAUTHENTICATE_EVERY_MS = 60_000;

export interface SubscriptionServerOptions {
  supergraph: Supergraph;
  /** The supergraph's API schema, the one HTTP GraphQL validates against. */
  apiSchema: GraphQLSchema;
  /** Subgraph name → HTTP URL of its /graphql (the WebSocket URL is derived from it). */
  subgraphUrls: Record<string, string>;
  authenticator: Authenticator;
  /** Revocations, removals and role changes: the connections of that organization are checked at once. */
  invalidations: AuthInvalidations;
  limits: RateLimits;
  signer: InternalTokenSigner;
  logger: Logger;
  metrics: GatewayMetrics;
  production: boolean;
  /** Extra validation rules (graphql-armor's limits). */
  validationRules: readonly ValidationRule[];
  maxPayload: number;
}

/** What the gateway keeps for each acknowledged connection. */
interface Connection extends AuthenticatedConnection {
  socket: WebSocket;
  /** Where its subscriptions' results are written, past graphql-ws (see `SharedSubscriptions`). */
  writer: SocketWriter;
  timer: NodeJS.Timeout;
}

type Extra = { connection: Connection };

/**
 * GraphQL subscriptions at `/graphql` over graphql-ws (same port as HTTP). `@apollo/gateway`
 * cannot run subscriptions, so the gateway authenticates the connection (`ConnectionAuth`),
 * routes each subscription to the subgraph that owns its root field (`SubscriptionRouter`) and
 * forwards it there over graphql-ws with an internal token, subscribers whose results are
 * identical sharing one upstream subscription (`SharedSubscriptions`), completing or cancelling
 * both ways. Authentication, re-authentication and revocation stay per client connection.
 */
export function serveSubscriptions(app: FastifyInstance, options: SubscriptionServerOptions): void {
  const { logger, metrics, apiSchema } = options;
  const router = new SubscriptionRouter(options.supergraph, apiSchema, options.validationRules, options.production);
  const auth = new ConnectionAuth(options.authenticator, options.limits, metrics, logger);
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload });
  const live = new Set<Connection>();
  const stopListening = options.invalidations.onInvalidation((invalidation) => {
    // The cache has dropped what the change concerns: connections it did not concern are
    // checked from the cache, the others against the database (and closed with 4401 if refused).
    for (const connection of live) {
      if (connection.principal.organizationId === invalidation.organizationId) {
        void auth.reauthenticate(connection, connection.socket);
      }
    }
  });
  const upstreams = new SharedSubscriptions(options.subgraphUrls, options.signer);

  const upstreamErrors = (subgraph: string) => (err: unknown) => {
    if (Array.isArray(err)) return clientErrors(err as GraphQLFormattedError[], logger);
    const code = (err as { code?: unknown } | null)?.code;
    logger.error({ subgraph, code, err: err instanceof Error ? err : undefined }, "subscription upstream failed");
    return clientErrors([{ message: "unavailable", extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } }], logger);
  };

  const disconnect = (connection: Connection) => {
    if (!live.delete(connection)) return;
    clearInterval(connection.timer);
    metrics.wsConnections.dec();
  };

  useServer<Record<string, unknown>, Extra>(
    {
      schema: apiSchema,
      isProd: options.production,
      onConnect: async (ctx) => {
        const { socket, request } = ctx.extra;
        const authenticated = await auth.connect(socket, request, ctx.connectionParams ?? {});
        if (!authenticated) return false;
        const connection: Connection = {
          ...authenticated,
          socket,
          writer: new SocketWriter(socket, request.socket),
          timer: setInterval(() => void auth.reauthenticate(connection, socket), REAUTHENTICATE_EVERY_MS),
        };
        connection.timer.unref();
        ctx.extra.connection = connection;
        live.add(connection);
        metrics.wsConnections.inc();
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const connection = ctx.extra.connection as Connection;
        if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return [
            new AppError(
              ErrorCode.RATE_LIMITED,
              `At most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection; complete some first`,
            ),
          ];
        }
        const principal = await auth.reauthenticate(connection, ctx.extra.socket);
        if (!principal) return [new AppError(ErrorCode.UNAUTHENTICATED, "Credentials are no longer valid")];
        const refused = await auth.admit(connection, principal);
        if (refused) return [refused];
        const routed = router.route(payload);
        if (Array.isArray(routed)) return routed;
        return {
          schema: apiSchema,
          document: routed.document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: { routed, connection, id },
        };
      },
      subscribe: (args) => {
        const { routed, connection, id } = args.contextValue as {
          routed: RoutedSubscription;
          connection: Connection;
          id: string;
        };
        metrics.activeSubscriptions.inc({ subgraph: routed.subgraph });
        // Results are written to the socket by `upstreams` (serialized once per event, whatever
        // the number of subscribers); graphql-ws holds an iterator that yields nothing and ends
        // with the subscription (it then sends `complete`, or `error` for a subscriber too slow).
        return upstreams.join(
          routed,
          connection.principal,
          connection,
          { id, writer: connection.writer },
          upstreamErrors(routed.subgraph),
          () => metrics.activeSubscriptions.dec({ subgraph: routed.subgraph }),
        ) as AsyncIterableIterator<ExecutionResult>;
      },
      // onSubscribe lets only subscriptions through; this never runs.
      execute: () => ({
        errors: [new AppError(ErrorCode.BAD_REQUEST, "Only subscriptions are served over WebSocket")],
      }),
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((e) => {
          const code = normalizeErrorCode(e.extensions?.code);
          if (code === ErrorCode.INTERNAL) {
            logger.error({ err: e.originalError ?? e }, "subscription failed");
            return { message: "Internal error", extensions: { code } };
          }
          return e.toJSON();
        }),
      onClose: (ctx) => {
        if (ctx.extra.connection) disconnect(ctx.extra.connection);
      },
    },
    wss,
  );

  // Closing a client socket completes its subscriptions, which cancels them upstream; then
  // every upstream client is disposed.
  routeUpgrades(app, "/graphql", wss, () => {
    stopListening();
    for (const connection of [...live]) disconnect(connection);
    upstreams.close();
  });
}

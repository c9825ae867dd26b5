import {
  AppError,
  ErrorCode,
  INTERNAL_TOKEN_HEADER,
  type InternalTokenVerifier,
  type Logger,
  type Principal,
} from "@sprintconnect/core";
import type { FastifyInstance } from "fastify";
import {
  type DocumentNode,
  type ExecutionArgs,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  getOperationAST,
  parse,
  validate,
} from "graphql";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { SubgraphContext } from "./context";
import type { EventSource } from "./events";
import { routeUpgrades } from "./websocket";

/** Client IP the gateway saw, passed in `connection_init` beside the internal token. */
export const CLIENT_IP_PARAM = "x-sprintconnect-client-ip";
/** Request id of the gateway connection, passed in `connection_init`. */
export const REQUEST_ID_PARAM = "x-request-id";

function badRequest(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { code: ErrorCode.BAD_REQUEST },
  });
}

/** Parses and validates a subscription; errors carry BAD_REQUEST. */
export function prepareSubscription(
  schema: GraphQLSchema,
  payload: { query: string; operationName?: string | null },
): { document: DocumentNode } | { errors: GraphQLError[] } {
  let document: DocumentNode;
  try {
    document = parse(payload.query);
  } catch (err) {
    return { errors: [badRequest(err as GraphQLError)] };
  }
  const operation = getOperationAST(document, payload.operationName ?? undefined);
  if (!operation) {
    return { errors: [new AppError(ErrorCode.BAD_REQUEST, "Unable to identify the operation to run")] };
  }
  if (operation.operation !== "subscription") {
    return {
      errors: [
        new AppError(ErrorCode.BAD_REQUEST, "Only subscriptions are served over WebSocket; send queries over HTTP"),
      ],
    };
  }
  const errors = validate(schema, document);
  if (errors.length > 0) return { errors: errors.map(badRequest) };
  return { document };
}

export interface SubgraphSubscriptionOptions {
  schema: GraphQLSchema;
  verifier: InternalTokenVerifier;
  logger: Logger;
  events?: EventSource;
  production: boolean;
  /** Formats each error sent to the gateway (the subgraph's own formatter). */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  maxPayload: number;
}

/**
 * Serves graphql-ws on the app's `/graphql` (same port as HTTP). Only the gateway talks to
 * it: `connection_init` must carry the internal token in `connectionParams[INTERNAL_TOKEN_HEADER]`,
 * else the socket is closed with 4401. Closing the app closes the server and its sockets.
 */
export function serveSubscriptions(app: FastifyInstance, options: SubgraphSubscriptionOptions): void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload });
  const { logger } = options;
  useServer<Record<string, unknown>, { principal: Principal }>(
    {
      schema: options.schema,
      isProd: options.production,
      onConnect: async (ctx) => {
        const token = ctx.connectionParams?.[INTERNAL_TOKEN_HEADER];
        try {
          if (typeof token !== "string" || token === "") throw new Error("no internal token");
          ctx.extra.principal = await options.verifier.verify(token);
          return true;
        } catch {
          ctx.extra.socket.close(CloseCode.Unauthorized, "Unauthorized");
          return false;
        }
      },
      onSubscribe: (ctx, _id, payload) => {
        const prepared = prepareSubscription(options.schema, payload);
        if ("errors" in prepared) return prepared.errors;
        const params = ctx.connectionParams ?? {};
        const requestId = typeof params[REQUEST_ID_PARAM] === "string" ? params[REQUEST_ID_PARAM] : "ws";
        const ip = typeof params[CLIENT_IP_PARAM] === "string" ? params[CLIENT_IP_PARAM] : null;
        const contextValue: SubgraphContext = {
          principal: ctx.extra.principal ?? null,
          requestId,
          ip,
          logger: logger.child({ requestId }),
          ...(options.events ? { events: options.events } : {}),
        };
        return {
          schema: options.schema,
          document: prepared.document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
        } satisfies ExecutionArgs;
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors) return undefined;
        return { ...result, errors: result.errors.map((e) => options.formatError(e.toJSON(), e)) };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => options.formatError(e.toJSON(), e)),
    },
    wss,
  );
  routeUpgrades(app, "/graphql", wss);
}

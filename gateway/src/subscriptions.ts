import { randomUUID } from "node:crypto";
import type { Supergraph } from "@apollo/federation-internals";
import {
  AppError,
  ErrorCode,
  INTERNAL_TOKEN_HEADER,
  type InternalTokenSigner,
  type Logger,
  normalizeErrorCode,
  type Principal,
} from "@sprintconnect/core";
import { routeUpgrades } from "@sprintconnect/subgraph-kit/websocket";
import type { FastifyInstance } from "fastify";
import {
  type DocumentNode,
  type ExecutionResult,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  getOperationAST,
  getVariableValues,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  type SelectionSetNode,
  specifiedRules,
  type ValidationRule,
  validate,
} from "graphql";
import { type Client, CloseCode, createClient, type FormattedExecutionResult, type SubscribePayload } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import WebSocket, { WebSocketServer } from "ws";
import type { Authenticator } from "./auth/authenticate";
import { checkOperationText } from "./input-text";
import type { GatewayMetrics } from "./metrics";
import type { RateLimits } from "./rate-limit";

/** Subscriptions one connection may have open at once. */
const MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;
/** How often an open connection's credentials are checked again (a revoked key ends it). */
const REAUTHENTICATE_EVERY_MS = 60_000;
/** Close codes: graphql-ws has none for "too many requests"; 4429 is its "too many" code. */
const CLOSE_RATE_LIMITED = 4429;

export interface SubscriptionServerOptions {
  supergraph: Supergraph;
  /** The supergraph's API schema, the one HTTP GraphQL validates against. */
  apiSchema: GraphQLSchema;
  /** Subgraph name → HTTP URL of its /graphql (the WebSocket URL is derived from it). */
  subgraphUrls: Record<string, string>;
  authenticator: Authenticator;
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
interface Connection {
  id: string;
  authorization: string;
  principal: Principal;
  ip: string;
  /** Upstream graphql-ws clients, one per subgraph and principal (see `upstreamFor`). */
  upstream: Map<string, Client>;
  timer: NodeJS.Timeout;
}

/** A subscription validated and routed: what the subgraph receives. */
interface Route {
  subgraph: string;
  payload: SubscribePayload;
  connection: Connection;
}

type Extra = { connection: Connection };
/** What flows through a forwarded subscription: results as the subgraph formatted them. */
type Result = FormattedExecutionResult<Record<string, unknown>, unknown>;

/** http(s)://host/graphql → ws(s)://host/graphql. */
export function toWebSocketUrl(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

/**
 * Which subgraph owns each root Subscription field, from the supergraph's extracted subgraphs,
 * with each such subgraph's own schema (a forwarded selection must be valid there too).
 */
export function subscriptionOwners(supergraph: Supergraph): {
  owners: Map<string, string>;
  schemas: Map<string, GraphQLSchema>;
} {
  const owners = new Map<string, string>();
  const schemas = new Map<string, GraphQLSchema>();
  for (const subgraph of supergraph.subgraphs()) {
    const root = subgraph.schema.schemaDefinition.rootType("subscription");
    if (!root) continue;
    for (const field of root.fields()) {
      if (!owners.has(field.name)) owners.set(field.name, subgraph.name);
    }
    schemas.set(subgraph.name, subgraph.schema.toGraphQLJSSchema());
  }
  return { owners, schemas };
}

function error(code: ErrorCode, message: string, details?: Record<string, unknown>): GraphQLError {
  return new AppError(code, message, details);
}

/** A graphql-js error (parse, validation, variables) as BAD_REQUEST, keeping its locations. */
function badRequest(err: GraphQLError, production: boolean): GraphQLError {
  // Field suggestions describe the schema; production keeps them to itself (as over HTTP).
  const message = production ? err.message.replace(/ Did you mean .*\?$/, "") : err.message;
  return new GraphQLError(message, {
    nodes: err.nodes,
    source: err.source,
    positions: err.positions,
    extensions: { code: ErrorCode.BAD_REQUEST },
  });
}

/** The root field names a selection set selects, through fragments. */
function rootFields(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>): Set<string> {
  const names = new Set<string>();
  const visit = (set: SelectionSetNode, seen: Set<string>) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet, seen);
      else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment && !seen.has(name)) visit(fragment.selectionSet, new Set([...seen, name]));
      }
    }
  };
  visit(selectionSet, new Set());
  return names;
}

/** The operation alone with the fragments it uses, so the subgraph sees nothing else. */
function operationDocument(operation: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>) {
  const used = new Map<string, FragmentDefinitionNode>();
  const collect = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment && !used.has(name)) {
          used.set(name, fragment);
          collect(fragment.selectionSet);
        }
      } else if (selection.selectionSet) {
        collect(selection.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  return { kind: Kind.DOCUMENT, definitions: [operation, ...used.values()] } satisfies DocumentNode;
}

/** Errors from a subgraph (or about reaching it), folded into the closed list of codes. */
export function clientErrors(errors: readonly GraphQLFormattedError[], logger: Logger): GraphQLFormattedError[] {
  return errors.map((e) => {
    const code = normalizeErrorCode(e.extensions?.code);
    if (code === ErrorCode.INTERNAL || code === ErrorCode.SERVICE_UNAVAILABLE) {
      if (code === ErrorCode.INTERNAL) logger.error({ message: e.message, path: e.path }, "subscription failed");
      const message = code === ErrorCode.INTERNAL ? "Internal error" : "A service is unavailable; retry later";
      return { message, ...(e.path ? { path: e.path } : {}), extensions: { code } };
    }
    const details = e.extensions?.details;
    return {
      message: e.message,
      ...(e.locations ? { locations: e.locations } : {}),
      ...(e.path ? { path: e.path } : {}),
      extensions: { code, ...(details ? { details } : {}) },
    };
  });
}

/**
 * A subscription forwarded upstream, as the async iterator graphql-ws's server consumes.
 * `return()` (the client completed, or its socket closed) cancels upstream at once; the end
 * of the upstream subscription ends it; an upstream failure becomes one last result with
 * `errors`, then the end.
 */
class ForwardedSubscription implements AsyncIterableIterator<Result> {
  private readonly queue: Result[] = [];
  private waiting: ((r: IteratorResult<Result>) => void) | null = null;
  private done = false;
  private readonly cancel: () => void;

  constructor(
    client: Client,
    payload: SubscribePayload,
    private readonly onEnd: () => void,
    toErrors: (err: unknown) => GraphQLFormattedError[],
  ) {
    this.cancel = client.subscribe<Record<string, unknown>>(payload, {
      next: (result) => this.push(result.errors ? { ...result, errors: toErrors(result.errors) } : result),
      error: (err) => {
        this.push({ errors: toErrors(err) });
        this.finish();
      },
      complete: () => this.finish(),
    });
  }

  next(): Promise<IteratorResult<Result>> {
    const value = this.queue.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<Result>> {
    this.queue.length = 0;
    if (!this.done) this.cancel();
    this.finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(): Promise<IteratorResult<Result>> {
    return this.return();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Result> {
    return this;
  }

  private push(result: Result): void {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: result, done: false });
    } else {
      this.queue.push(result);
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.onEnd();
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: undefined, done: true });
    }
  }
}

/**
 * graphql-ws's randomised exponential backoff, on a timer that does not keep a closing
 * process alive.
 */
function retryWait(retries: number): Promise<void> {
  const ms = Math.min(1_000 * 2 ** retries, 10_000) + Math.floor(300 + Math.random() * 2_700);
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A close reason fits in 123 bytes. */
function reason(text: string): string {
  return Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString()}...`;
}

/**
 * GraphQL subscriptions at `/graphql` over graphql-ws (same port as HTTP; HTTP GraphQL and
 * Sandbox are untouched). `@apollo/gateway` cannot run subscriptions, so the gateway:
 *
 * 1. authenticates `connection_init` (`{"Authorization": "Bearer <JWT or sc_ key>"}`) with the
 *    same Authenticator as HTTP and counts it against the rate limits; without valid
 *    credentials the socket is closed with 4401, when limited with 4429;
 * 2. for each `subscribe`: authenticates again (so a revoked key or removed member cannot
 *    open new subscriptions; every minute open connections are checked too, and closed with
 *    4401), counts it against the limits, parses and validates it against the supergraph's API
 *    schema, refuses anything but a subscription, finds the subgraph owning its root field
 *    from the supergraph, checks the selection is valid in that subgraph alone, and forwards
 *    it there with a graphql-ws client carrying the internal token;
 * 3. pipes results back, and completes or cancels both ways.
 *
 * Upstream clients are per gateway connection, per subgraph and per principal: a connection's
 * subscriptions to one subgraph share one upstream socket, opened lazily with a freshly
 * signed internal token and closed with the last subscription or the client connection. No
 * socket carries two callers, so the subgraph's context is always the caller's own.
 */
export function serveSubscriptions(app: FastifyInstance, options: SubscriptionServerOptions): void {
  const { logger, metrics, apiSchema } = options;
  const { owners, schemas } = subscriptionOwners(options.supergraph);
  const rules = [...specifiedRules, ...options.validationRules];
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload });
  const live = new Set<Connection>();

  const upstreamFor = (connection: Connection, subgraph: string, principal: Principal): Client => {
    const key = `${subgraph}|${principal.role}|${principal.scopes.join(",")}`;
    let client = connection.upstream.get(key);
    if (!client) {
      const url = toWebSocketUrl(options.subgraphUrls[subgraph] as string);
      client = createClient({
        url,
        webSocketImpl: WebSocket,
        lazy: true,
        // A subgraph instance that goes away (deploy, crash) is retried, and the subscriptions
        // resubscribed; events published meanwhile are not replayed (pub/sub keeps nothing).
        retryAttempts: 3,
        retryWait: retryWait,
        connectionParams: async () => ({
          [INTERNAL_TOKEN_HEADER]: await options.signer.sign(principal),
          "x-request-id": connection.id,
          "x-sprintconnect-client-ip": connection.ip,
        }),
      });
      connection.upstream.set(key, client);
    }
    return client;
  };

  const upstreamErrors = (subgraph: string) => (err: unknown) => {
    if (Array.isArray(err)) return clientErrors(err as GraphQLFormattedError[], logger);
    const code = (err as { code?: unknown } | null)?.code;
    logger.error({ subgraph, code, err: err instanceof Error ? err : undefined }, "subscription upstream failed");
    return clientErrors([{ message: "unavailable", extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } }], logger);
  };

  const disconnect = (connection: Connection) => {
    if (!live.delete(connection)) return;
    clearInterval(connection.timer);
    // dispose() rejects when a connection attempt was failing; the client is gone either way.
    for (const client of connection.upstream.values()) void Promise.resolve(client.dispose()).catch(() => undefined);
    connection.upstream.clear();
    metrics.wsConnections.dec();
  };

  /** Authenticates the connection's credentials again; closes it with 4401 when they are no longer valid. */
  const reauthenticate = async (connection: Connection, socket: WebSocket): Promise<Principal | null> => {
    try {
      const principal = await options.authenticator.verify(connection.authorization);
      if (principal) connection.principal = principal;
      return principal;
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.UNAUTHENTICATED) {
        socket.close(CloseCode.Unauthorized, reason(`Unauthorized: ${err.message}`));
        return null;
      }
      // The database is down: keep the connection; the subgraphs decide what still works.
      logger.warn({ err, connection: connection.id }, "could not re-authenticate a subscription connection");
      return connection.principal;
    }
  };

  useServer<Record<string, unknown>, Extra>(
    {
      schema: apiSchema,
      isProd: options.production,
      onConnect: async (ctx) => {
        const { socket, request } = ctx.extra;
        const params = ctx.connectionParams ?? {};
        const authorization = params.Authorization ?? params.authorization;
        const ip = request.socket.remoteAddress ?? "unknown";
        if (typeof authorization !== "string" || authorization === "") {
          socket.close(CloseCode.Unauthorized, "Unauthorized: connection_init needs an Authorization bearer token");
          return false;
        }
        let principal: Principal | null;
        try {
          principal = await options.authenticator.authenticate(authorization, ip);
          await options.limits.consume(principal, ip);
        } catch (err) {
          if (err instanceof AppError && err.code === ErrorCode.UNAUTHENTICATED) {
            socket.close(CloseCode.Unauthorized, reason(`Unauthorized: ${err.message}`));
          } else if (
            err instanceof AppError &&
            (err.code === ErrorCode.RATE_LIMITED || err.code === ErrorCode.QUOTA_EXCEEDED)
          ) {
            metrics.rateLimited.inc({ code: err.code });
            const retryAfter = (err.extensions.details as { retryAfter?: number } | undefined)?.retryAfter ?? 1;
            socket.close(CLOSE_RATE_LIMITED, reason(`${err.code}: ${err.message}; retry after ${retryAfter}s`));
          } else {
            // The database or Redis is down: 1013 Try Again Later, which clients retry.
            logger.error({ err }, "subscription connection failed");
            socket.close(1013, "SERVICE_UNAVAILABLE: retry later");
          }
          return false;
        }
        if (!principal) {
          socket.close(CloseCode.Unauthorized, "Unauthorized");
          return false;
        }
        const given = request.headers["x-request-id"];
        const connection: Connection = {
          id: typeof given === "string" && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID(),
          authorization,
          principal,
          ip,
          upstream: new Map(),
          timer: setInterval(() => void reauthenticate(connection, socket), REAUTHENTICATE_EVERY_MS),
        };
        connection.timer.unref();
        ctx.extra.connection = connection;
        live.add(connection);
        metrics.wsConnections.inc();
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const connection = ctx.extra.connection as Connection;
        const { socket } = ctx.extra;
        if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_CONNECTION) {
          return [
            error(
              ErrorCode.RATE_LIMITED,
              `At most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection; complete some first`,
            ),
          ];
        }
        const principal = await reauthenticate(connection, socket);
        if (!principal) return [error(ErrorCode.UNAUTHENTICATED, "Credentials are no longer valid")];
        try {
          await options.limits.consume(principal, connection.ip);
        } catch (err) {
          if (err instanceof AppError) {
            if (err.code === ErrorCode.RATE_LIMITED || err.code === ErrorCode.QUOTA_EXCEEDED)
              metrics.rateLimited.inc({ code: err.code });
            return [err];
          }
          throw err;
        }

        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (err) {
          return [badRequest(err as GraphQLError, options.production)];
        }
        try {
          checkOperationText(document, payload.variables);
        } catch (err) {
          return [err as GraphQLError];
        }
        const operation = getOperationAST(document, payload.operationName ?? undefined);
        if (!operation) return [error(ErrorCode.BAD_REQUEST, "Unable to identify the operation to run")];
        if (operation.operation !== "subscription") {
          return [
            error(
              ErrorCode.BAD_REQUEST,
              "Only subscriptions are served over WebSocket; send queries and mutations to POST /graphql",
            ),
          ];
        }
        const validationErrors = validate(apiSchema, document, rules);
        if (validationErrors.length > 0) return validationErrors.map((e) => badRequest(e, options.production));
        const variables = getVariableValues(apiSchema, operation.variableDefinitions ?? [], payload.variables ?? {});
        if (variables.errors) return variables.errors.map((e) => badRequest(e, options.production));

        const fragments = new Map(
          document.definitions
            .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
            .map((d) => [d.name.value, d]),
        );
        const fields = [...rootFields(operation.selectionSet, fragments)];
        const subgraph = fields.length === 1 ? owners.get(fields[0] as string) : undefined;
        if (fields.length !== 1 || !subgraph) {
          return [error(ErrorCode.BAD_REQUEST, "A subscription selects exactly one root field")];
        }
        const forwarded = operationDocument(operation, fragments);
        const subgraphErrors = validate(schemas.get(subgraph) as GraphQLSchema, forwarded);
        if (subgraphErrors.length > 0) {
          return [
            error(ErrorCode.BAD_REQUEST, `This selection cannot be served by the ${subgraph} subgraph alone`, {
              errors: subgraphErrors.map((e) => e.message),
            }),
          ];
        }
        const route: Route = {
          subgraph,
          connection,
          payload: {
            query: print(forwarded),
            ...(operation.name ? { operationName: operation.name.value } : {}),
            ...(payload.variables ? { variables: payload.variables } : {}),
          },
        };
        return {
          schema: apiSchema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: route,
        };
      },
      subscribe: (args) => {
        const route = args.contextValue as Route;
        const principal = route.connection.principal;
        const client = upstreamFor(route.connection, route.subgraph, principal);
        metrics.activeSubscriptions.inc({ subgraph: route.subgraph });
        // graphql-ws types results as graphql-js's; these are already formatted (see onNext).
        return new ForwardedSubscription(
          client,
          route.payload,
          () => metrics.activeSubscriptions.dec({ subgraph: route.subgraph }),
          upstreamErrors(route.subgraph),
        ) as unknown as AsyncIterableIterator<ExecutionResult>;
      },
      // onSubscribe lets only subscriptions through; this never runs.
      execute: () => ({ errors: [error(ErrorCode.BAD_REQUEST, "Only subscriptions are served over WebSocket")] }),
      // Results are already formatted (subgraph errors folded by `clientErrors`).
      onNext: (_ctx, _id, _payload, _args, result) => result as unknown as FormattedExecutionResult,
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
    for (const connection of [...live]) disconnect(connection);
  });
}

import type { IncomingMessage } from "node:http";
import type { ApolloServer } from "@apollo/server";
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
import { type Client, createClient } from "graphql-ws";
import WebSocket, { WebSocketServer } from "ws";
import type { Authenticator } from "./auth/authenticate";
import type { GatewayContext } from "./graphql";
import type { RateLimits } from "./rate-limit";
import { toWebSocketUrl } from "./subscriptions/forwarding";

const PATH = /^\/v1\/chat\/sessions\/([^/]+)\/stream$/;
/** A browser that cannot set headers sends `{"type":"auth","token":…}` first, within this time. */
const AUTH_TIMEOUT_MS = 10_000;
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_NOT_FOUND = 4404;
const CLOSE_RATE_LIMITED = 4429;
const CLOSE_UNAVAILABLE = 1013;

const EVENT_FIELDS = `sessionId turnId seq type occurredAt text toolCallId serverId toolName arguments result durationMs
  messageId status code errorMessage`;
const SUBSCRIPTION = `subscription ChatStream($sessionId: ID!, $after: Int) {
  chatEvents(sessionId: $sessionId, after: $after) { ${EVENT_FIELDS} }
}`;

/** Frames a client sends, each answered by `{"type":"reply","id",…}`. */
const OPERATIONS: Record<string, { document: string; variables: (sessionId: string, frame: Frame) => object }> = {
  message: {
    document: `mutation($sessionId: ID!, $content: String!) {
      sendChatMessage(sessionId: $sessionId, input: { content: $content }) { id sessionId status }
    }`,
    variables: (sessionId, frame) => ({ sessionId, content: frame.content }),
  },
  cancel: {
    document: `mutation($sessionId: ID!) { cancelChatTurn(sessionId: $sessionId) { id sessionId status } }`,
    variables: (sessionId) => ({ sessionId }),
  },
  approval: {
    document: `mutation($sessionId: ID!, $toolCallId: ID!, $approve: Boolean!) {
      resolveToolApproval(sessionId: $sessionId, toolCallId: $toolCallId, input: { approve: $approve }) { id status }
    }`,
    variables: (sessionId, frame) => ({ sessionId, toolCallId: frame.toolCallId, approve: frame.approve }),
  },
};

type Frame = {
  type?: unknown;
  id?: unknown;
  content?: unknown;
  toolCallId?: unknown;
  approve?: unknown;
  token?: unknown;
};

export interface ChatStreamOptions {
  apollo: ApolloServer<GatewayContext>;
  authenticator: Authenticator;
  limits: RateLimits;
  signer: InternalTokenSigner;
  chatSubgraphUrl: string;
  logger: Logger;
  maxPayload: number;
}

function send(socket: WebSocket, frame: object): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
}

/**
 * `WS /v1/chat/sessions/{id}/stream`, the seed's chat socket: a thin adapter over the same
 * operations and events as GraphQL. Authenticated by the `Authorization` header or, for
 * browsers, by a first frame `{"type":"auth","token":"<JWT or sc_ key>"}`. Out: every chat
 * event of the session as one JSON frame (from `?after=<seq>` when given). In: `message`
 * (`content`), `cancel`, `approval` (`toolCallId`, `approve`), each with an optional `id`
 * echoed in its `reply`. Closes with 4401 (credentials), 4404 (no such session), 4429 (limits).
 */
export function serveChatStream(app: FastifyInstance, options: ChatStreamOptions): void {
  const { logger } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload });
  const upstreams = new Set<Client>();

  const authenticate = async (socket: WebSocket, request: IncomingMessage, authorization: string | undefined) => {
    const ip = request.socket.remoteAddress ?? "unknown";
    try {
      const principal = authorization ? await options.authenticator.admit(authorization, ip) : null;
      if (!principal) throw new AppError(ErrorCode.UNAUTHENTICATED, "Authentication required");
      return { principal, ip };
    } catch (err) {
      const code = err instanceof AppError ? err.code : ErrorCode.SERVICE_UNAVAILABLE;
      if (code === ErrorCode.UNAUTHENTICATED) socket.close(CLOSE_UNAUTHORIZED, "Unauthorized");
      else if (code === ErrorCode.RATE_LIMITED || code === ErrorCode.QUOTA_EXCEEDED) {
        socket.close(CLOSE_RATE_LIMITED, code);
      } else {
        logger.error({ err }, "chat stream authentication failed");
        socket.close(CLOSE_UNAVAILABLE, "SERVICE_UNAVAILABLE: retry later");
      }
      return null;
    }
  };

  const execute = async (
    context: GatewayContext,
    document: string,
    variables: object,
  ): Promise<{ data?: unknown; error?: { code: ErrorCode; message: string } }> => {
    const response = await options.apollo.executeOperation(
      { query: document, variables: variables as Record<string, unknown> },
      { contextValue: context },
    );
    if (response.body.kind !== "single") return { error: { code: ErrorCode.INTERNAL, message: "Internal error" } };
    const { data, errors } = response.body.singleResult;
    const first = errors?.[0];
    if (first) return { error: { code: normalizeErrorCode(first.extensions?.code), message: first.message } };
    return { data: Object.values(data ?? {})[0] };
  };

  const start = async (socket: WebSocket, request: IncomingMessage, sessionId: string, auth: string | undefined) => {
    const authenticated = await authenticate(socket, request, auth);
    if (!authenticated) return;
    const { principal, ip } = authenticated;
    const context: GatewayContext = { principal, requestId: `ws-${sessionId}`, ip, operation: { name: null } };
    const found = await execute(context, "query($id: ID!) { chatSession(id: $id) { id } }", { id: sessionId });
    if (found.error) {
      socket.close(found.error.code === ErrorCode.NOT_FOUND ? CLOSE_NOT_FOUND : CLOSE_UNAVAILABLE, found.error.code);
      return;
    }
    const afterParam = new URL(request.url ?? "/", "http://localhost").searchParams.get("after");
    const after = afterParam !== null && /^\d{1,10}$/.test(afterParam) ? Number(afterParam) : null;
    const upstream = upstreamClient(principal, options);
    upstreams.add(upstream);
    socket.on("close", () => {
      upstreams.delete(upstream);
      void Promise.resolve(upstream.dispose()).catch(() => undefined);
    });
    socket.on("message", (raw) => void onFrame(socket, context, sessionId, raw.toString()));
    send(socket, { type: "ready", sessionId });
    try {
      for await (const result of upstream.iterate<{ chatEvents: object }>({
        query: SUBSCRIPTION,
        variables: { sessionId, after },
      })) {
        if (result.errors?.length) {
          const code = normalizeErrorCode(result.errors[0]?.extensions?.code);
          send(socket, { type: "reply", error: { code, message: result.errors[0]?.message } });
          continue;
        }
        if (result.data) send(socket, result.data.chatEvents);
      }
    } catch (err) {
      logger.warn({ err }, "chat stream upstream ended");
      socket.close(CLOSE_UNAVAILABLE, "SERVICE_UNAVAILABLE: retry later");
    }
  };

  const onFrame = async (socket: WebSocket, context: GatewayContext, sessionId: string, raw: string) => {
    let frame: Frame;
    try {
      frame = JSON.parse(raw) as Frame;
      if (typeof frame !== "object" || frame === null) throw new Error("not an object");
    } catch {
      send(socket, { type: "reply", error: { code: ErrorCode.BAD_REQUEST, message: "Frames are JSON objects" } });
      return;
    }
    const id = typeof frame.id === "string" || typeof frame.id === "number" ? frame.id : undefined;
    const operation = typeof frame.type === "string" ? OPERATIONS[frame.type] : undefined;
    if (!operation) {
      const message = `Unknown frame type; send one of ${Object.keys(OPERATIONS).join(", ")}`;
      send(socket, {
        type: "reply",
        ...(id !== undefined ? { id } : {}),
        error: { code: ErrorCode.BAD_REQUEST, message },
      });
      return;
    }
    try {
      await options.limits.consume(context.principal as Principal, context.ip);
      const result = await execute(context, operation.document, operation.variables(sessionId, frame));
      send(socket, { type: "reply", ...(id !== undefined ? { id } : {}), ...result });
    } catch (err) {
      const code = err instanceof AppError ? err.code : ErrorCode.INTERNAL;
      if (code === ErrorCode.INTERNAL) logger.error({ err }, "chat stream frame failed");
      const message = err instanceof AppError ? err.message : "Internal error";
      send(socket, { type: "reply", ...(id !== undefined ? { id } : {}), error: { code, message } });
    }
  };

  wss.on("connection", (socket: WebSocket, request: IncomingMessage) => {
    const sessionId = decodeURIComponent(
      PATH.exec(new URL(request.url ?? "/", "http://localhost").pathname)?.[1] ?? "",
    );
    const header = request.headers.authorization;
    if (header) {
      void start(socket, request, sessionId, header);
      return;
    }
    const timer = setTimeout(() => socket.close(CLOSE_UNAUTHORIZED, "Unauthorized: no auth frame"), AUTH_TIMEOUT_MS);
    socket.once("message", (raw) => {
      clearTimeout(timer);
      let frame: Frame | null = null;
      try {
        frame = JSON.parse(raw.toString()) as Frame;
      } catch {
        // not JSON: refused below
      }
      if (frame?.type !== "auth" || typeof frame.token !== "string" || frame.token === "") {
        socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized: send {"type":"auth","token":…} first');
        return;
      }
      void start(socket, request, sessionId, `Bearer ${frame.token}`);
    });
  });

  routeUpgrades(
    app,
    (pathname) => PATH.test(pathname),
    wss,
    () => {
      for (const client of upstreams) void Promise.resolve(client.dispose()).catch(() => undefined);
      upstreams.clear();
    },
  );
}

/** A graphql-ws client to the chat subgraph carrying the caller's principal in a fresh internal token. */
function upstreamClient(principal: Principal, options: ChatStreamOptions): Client {
  return createClient({
    url: toWebSocketUrl(options.chatSubgraphUrl),
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    connectionParams: async () => ({ [INTERNAL_TOKEN_HEADER]: await options.signer.sign(principal) }),
  });
}

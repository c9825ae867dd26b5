import {
  ErrorCode,
  INTERNAL_TOKEN_HEADER,
  type InternalTokenSigner,
  type Logger,
  normalizeErrorCode,
  type Principal,
} from "@sprintconnect/core";
import type { GraphQLFormattedError } from "graphql";
import { type Client, createClient, type FormattedExecutionResult } from "graphql-ws";
import WebSocket from "ws";

/** What flows through a forwarded subscription: results as the subgraph formatted them. */
export type ForwardedResult = FormattedExecutionResult<Record<string, unknown>, unknown>;

/** http(s)://host/graphql → ws(s)://host/graphql. */
export function toWebSocketUrl(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
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
 * graphql-ws's randomised exponential backoff, on a timer that does not keep a closing
 * process alive.
 */
function retryWait(retries: number): Promise<void> {
  const ms = Math.min(1_000 * 2 ** retries, 10_000) + Math.floor(300 + Math.random() * 2_700);
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * A graphql-ws client to a subgraph for one upstream subscription, opened lazily with a freshly
 * signed internal token for `principal` (signed again on every reconnect).
 */
export function upstreamClient(
  subgraphUrl: string,
  signer: InternalTokenSigner,
  principal: Principal,
  connection: { id: string; ip: string },
): Client {
  return createClient({
    url: toWebSocketUrl(subgraphUrl),
    webSocketImpl: WebSocket,
    lazy: true,
    // A subgraph instance that goes away (deploy, crash) is retried, and the subscriptions
    // resubscribed; events published meanwhile are not replayed (pub/sub keeps nothing).
    retryAttempts: 3,
    retryWait,
    connectionParams: async () => ({
      [INTERNAL_TOKEN_HEADER]: await signer.sign(principal),
      "x-request-id": connection.id,
      "x-sprintconnect-client-ip": connection.ip,
    }),
  });
}

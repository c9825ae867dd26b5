import {
  ErrorCode,
  INTERNAL_TOKEN_HEADER,
  type InternalTokenSigner,
  type Logger,
  normalizeErrorCode,
  type Principal,
} from "@sprintconnect/core";
import type { GraphQLFormattedError } from "graphql";
import { type Client, createClient, type FormattedExecutionResult, type SubscribePayload } from "graphql-ws";
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
 * The upstream graphql-ws clients of one gateway connection, one per subgraph and principal:
 * its subscriptions to a subgraph share one socket, opened lazily with a freshly signed
 * internal token. No socket carries two callers, so the subgraph's context is always the
 * caller's own.
 */
export class UpstreamClients {
  private readonly clients = new Map<string, Client>();

  constructor(
    private readonly subgraphUrls: Record<string, string>,
    private readonly signer: InternalTokenSigner,
    private readonly connection: { id: string; ip: string },
  ) {}

  for(subgraph: string, principal: Principal): Client {
    const key = `${subgraph}|${principal.role}|${principal.scopes.join(",")}`;
    let client = this.clients.get(key);
    if (!client) {
      client = createClient({
        url: toWebSocketUrl(this.subgraphUrls[subgraph] as string),
        webSocketImpl: WebSocket,
        lazy: true,
        // A subgraph instance that goes away (deploy, crash) is retried, and the subscriptions
        // resubscribed; events published meanwhile are not replayed (pub/sub keeps nothing).
        retryAttempts: 3,
        retryWait,
        connectionParams: async () => ({
          [INTERNAL_TOKEN_HEADER]: await this.signer.sign(principal),
          "x-request-id": this.connection.id,
          "x-sprintconnect-client-ip": this.connection.ip,
        }),
      });
      this.clients.set(key, client);
    }
    return client;
  }

  dispose(): void {
    // dispose() rejects when a connection attempt was failing; the client is gone either way.
    for (const client of this.clients.values()) void Promise.resolve(client.dispose()).catch(() => undefined);
    this.clients.clear();
  }
}

/**
 * A subscription forwarded upstream with graphql-ws's own iterator, as the iterator graphql-ws's
 * server consumes: results pass through with their errors folded, an upstream failure becomes
 * one last result with `errors`, and `return()` (the client completed, or its socket closed)
 * cancels upstream at once, even while a `next()` waits.
 */
export function forwardSubscription(
  client: Client,
  payload: SubscribePayload,
  toErrors: (err: unknown) => GraphQLFormattedError[],
  onEnd: () => void,
): AsyncIterableIterator<ForwardedResult> {
  const upstream = client.iterate<Record<string, unknown>>(payload);
  // graphql-ws's iterator does not end a pending next() when it is returned; this does.
  let stop: (result: IteratorResult<ForwardedResult>) => void = () => undefined;
  const stopped = new Promise<IteratorResult<ForwardedResult>>((resolve) => {
    stop = resolve;
  });
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  const iterator: AsyncIterableIterator<ForwardedResult> = {
    async next() {
      if (ended) return { done: true, value: undefined };
      try {
        const result = await Promise.race([upstream.next(), stopped]);
        if (result.done) {
          end();
          return { done: true, value: undefined };
        }
        const value = result.value as ForwardedResult;
        return { done: false, value: value.errors ? { ...value, errors: toErrors(value.errors) } : value };
      } catch (err) {
        end();
        return { done: false, value: { errors: toErrors(err) } };
      }
    },
    async return() {
      end();
      stop({ done: true, value: undefined });
      await upstream.return?.();
      return { done: true, value: undefined };
    },
    throw() {
      return iterator.return?.() as Promise<IteratorResult<ForwardedResult>>;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

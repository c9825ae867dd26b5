import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";

/** ws://…/graphql for an http:// base URL. */
export const wsUrl = (httpUrl: string) => `${httpUrl.replace(/^http/, "ws")}/graphql`;

/** A graphql-ws client authenticated in `connection_init`, as an agent connects. */
export function connectWs(baseUrl: string, auth: string): Client {
  return createClient({
    url: wsUrl(baseUrl),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${auth}` },
    retryAttempts: 0,
  });
}

export interface Collected<T = any> {
  results: Array<{ data?: any; errors?: any[] }>;
  /** Data of the root field of every result. */
  items: T[];
  errors: unknown[];
  completed: boolean;
  stop(): void;
}

/** Subscribes and collects everything that arrives. */
export function collect(client: Client, query: string, variables: Record<string, unknown> = {}): Collected {
  const collected: Collected = { results: [], items: [], errors: [], completed: false, stop: () => undefined };
  collected.stop = client.subscribe(
    { query, variables },
    {
      next: (result) => {
        collected.results.push(result as never);
        const data = result.data as Record<string, unknown> | undefined;
        if (data) collected.items.push(Object.values(data)[0]);
      },
      error: (err) => {
        collected.errors.push(err);
        collected.completed = true;
      },
      complete: () => {
        collected.completed = true;
      },
    },
  );
  return collected;
}

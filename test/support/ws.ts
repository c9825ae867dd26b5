import { randomUUID } from "node:crypto";
import { type Client, createClient } from "graphql-ws";
import WebSocket from "ws";
import { waitFor } from "./wait";

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

/**
 * Subscribes and returns once the subscription is live. Redis pub/sub keeps nothing and
 * graphql-ws does not acknowledge a subscription, so probes are published (`publishProbe(id)`,
 * an event this subscription matches, with that event id) until one arrives. `events()` is what
 * arrived minus every probe in `probes` (share the set when several subscribers see each
 * other's probes).
 */
export async function subscribeLive(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  publishProbe: (eventId: string) => Promise<unknown>,
  probes: Set<string> = new Set(),
): Promise<Collected & { collected: Collected; events(): any[] }> {
  const collected = collect(client, query, variables);
  const mine = new Set<string>();
  await waitFor("the subscription to be live", async () => {
    if (collected.errors.length > 0) throw new Error(`subscription failed: ${JSON.stringify(collected.errors)}`);
    if (collected.items.some((i) => mine.has(i?.eventId))) return true;
    const id = randomUUID();
    mine.add(id);
    probes.add(id);
    await publishProbe(id);
    return undefined;
  });
  return { ...collected, collected, events: () => collected.items.filter((i) => !probes.has(i?.eventId)) };
}

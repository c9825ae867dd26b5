import type { InternalTokenSigner, Principal } from "@sprintconnect/core";
import type { GraphQLFormattedError } from "graphql";
import type { Client } from "graphql-ws";
import { type Delivery, Member } from "./delivery";
import { type ForwardedResult, upstreamClient } from "./forwarding";
import type { RoutedSubscription } from "./routing";

/**
 * Root Subscription fields whose results depend on nothing but the caller (its organization,
 * its role, user and API key, which access policies name; its effective scopes, which decide
 * whether it may subscribe) and the operation with its variables, and which only stream live
 * events (no replay on subscribe). Subscribers of these with the same key share one upstream
 * subscription: the connections of one caller (an agent's key on many sockets), never two
 * callers, since policies may tell them apart. Any other field (chatEvents: `after` replays the
 * log to each subscriber) is forwarded on its own.
 */
export const SHARED_FEEDS: ReadonlySet<string> = new Set(["capabilityChanges", "serverHealthChanges"]);

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * What a subscription's upstream results depend on, or null when it must not be shared: the
 * subgraph, the organization, the role, the user and API key (the subjects access policies
 * name), the sorted effective scopes, the normalized document (printed by the router), the
 * operation name and the coerced variables in canonical JSON.
 */
export function shareKey(routed: RoutedSubscription, principal: Principal): string | null {
  if (!SHARED_FEEDS.has(routed.field)) return null;
  return canonical([
    routed.subgraph,
    principal.organizationId,
    principal.role,
    principal.userId,
    principal.apiKeyId ?? null,
    [...principal.scopes].sort(),
    routed.payload.query,
    routed.payload.operationName ?? null,
    routed.variables,
  ]);
}

/** One upstream subscription and the gateway subscribers it feeds. */
class Upstream {
  readonly members = new Set<Member>();
  private readonly client: Client;
  private readonly cancel: () => void;

  constructor(
    routed: RoutedSubscription,
    principal: Principal,
    connection: { id: string; ip: string },
    subgraphUrls: Record<string, string>,
    signer: InternalTokenSigner,
    toErrors: (err: unknown) => GraphQLFormattedError[],
    private readonly onEnd: () => void,
  ) {
    this.client = upstreamClient(subgraphUrls[routed.subgraph] as string, signer, principal, connection);
    this.cancel = this.client.subscribe<Record<string, unknown>>(routed.payload, {
      // Once per event, whatever the number of subscribers: errors folded and serialized once.
      next: (value) => {
        const result = value as ForwardedResult;
        this.broadcast(result.errors ? { ...result, errors: toErrors(result.errors) } : result);
      },
      // An upstream failure: one last result with errors to each, then the end.
      error: (err) => {
        this.broadcast({ errors: toErrors(err) });
        this.close();
      },
      complete: () => this.close(),
    });
  }

  private broadcast(result: ForwardedResult): void {
    const payload = JSON.stringify(result);
    for (const member of this.members) member.deliver(payload);
  }

  /** The upstream ended: every subscriber completes (after what was already written to it). */
  private close(): void {
    for (const member of [...this.members]) member.done.end();
  }

  /** Called when the last member left (or the upstream ended and they all did). */
  dispose(): void {
    this.cancel();
    // dispose() rejects when a connection attempt was failing; the client is gone either way.
    void Promise.resolve(this.client.dispose()).catch(() => undefined);
    this.onEnd();
  }
}

/**
 * The gateway's upstream subscriptions, shared: subscribers whose results are identical (same
 * {@link shareKey}) are fed by ONE subscription to the subgraph, fanned out in the gateway:
 * each result is serialized once and written as a graphql-ws `next` frame to every
 * subscriber's socket (`Member`, `SocketWriter`), not through graphql-ws's per-subscriber
 * iteration and serialization. A client that reads slower than the events arrive holds only
 * its own socket's buffer, and past `MAX_UNSENT_BYTES` its subscriptions end with
 * SERVICE_UNAVAILABLE ("too slow") while the others go on. When the last subscriber
 * of an upstream subscription leaves, that subscription is cancelled and its socket closed.
 * Subscriptions that must not be shared get an upstream of their own, through the same path.
 * The upstream socket is authenticated as the subscriber who opened it; everything it
 * returns depends only on what the key holds (see {@link SHARED_FEEDS}).
 */
export class SharedSubscriptions {
  private readonly shared = new Map<string, Upstream>();
  private readonly all = new Set<Upstream>();

  constructor(
    private readonly subgraphUrls: Record<string, string>,
    private readonly signer: InternalTokenSigner,
  ) {}

  /** Upstream subscriptions open (shared or not). */
  get upstreams(): number {
    return this.all.size;
  }

  /**
   * Joins a subscriber to the (possibly shared) upstream subscription: its results are written
   * to `delivery`. The iterator returned settles when the subscription ends (see `Member`);
   * `return()` leaves; `onEnd` runs once when the subscriber ends, however it ends.
   */
  join(
    routed: RoutedSubscription,
    principal: Principal,
    connection: { id: string; ip: string },
    delivery: Delivery,
    toErrors: (err: unknown) => GraphQLFormattedError[],
    onEnd: () => void,
  ): AsyncIterableIterator<never> {
    const key = shareKey(routed, principal);
    let upstream = key === null ? undefined : this.shared.get(key);
    if (!upstream) {
      const created: Upstream = new Upstream(
        routed,
        principal,
        connection,
        this.subgraphUrls,
        this.signer,
        toErrors,
        () => {
          this.all.delete(created);
          if (key !== null && this.shared.get(key) === created) this.shared.delete(key);
        },
      );
      upstream = created;
      this.all.add(created);
      if (key !== null) this.shared.set(key, created);
    }
    const owner = upstream;
    const member: Member = new Member(delivery, () => {
      owner.members.delete(member);
      if (owner.members.size === 0) owner.dispose();
      onEnd();
    });
    owner.members.add(member);
    return member.done;
  }

  /** Cancels every upstream subscription (the gateway is closing). */
  close(): void {
    for (const upstream of [...this.all]) {
      for (const member of [...upstream.members]) void member.done.return();
    }
  }
}

import { AppError, ErrorCode } from "@sprintconnect/core";
import { type DomainEvent, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import type { GraphQLResolveInfo } from "graphql";
import { Arg, Authorized, Resolver, Root, Subscription } from "type-graphql";
import {
  type CapabilityFilter,
  normalizeFilter,
  type ServerFilter,
  selectCapabilityChange,
  selectServerHealthChange,
} from "./change.events";
import { CapabilityChange, CapabilityChangeFilter, ServerHealthChange, ServerHealthChangeFilter } from "./change.type";
import { livePoliciesOf } from "./live-policies";

/**
 * Subscribes the caller to the live events selected by `select`, for its own organization
 * only, and only of the servers its access policies let it read (decided per event with the
 * policies `LivePolicies` keeps current). `@Authorized` runs before this (type-graphql wraps
 * `subscribe` with the auth check).
 */
async function subscribeTo<F extends ServerFilter, T>(
  context: SubgraphContext,
  info: GraphQLResolveInfo,
  rawFilter: F | null | undefined,
  select: (event: DomainEvent, organizationId: string, filter: F) => T | undefined,
): Promise<AsyncIterableIterator<T>> {
  const principal = requirePrincipal(context);
  const filter = normalizeFilter(rawFilter);
  if (!context.events) throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "Live events are unavailable");
  const decision = await livePoliciesOf(info).hold(principal);
  try {
    const iterator = await context.events.subscribe((event) => {
      const change = select(event, principal.organizationId, filter);
      return change !== undefined && decision.allows(serverFacts(event)) ? change : undefined;
    });
    return releasing(iterator, decision.release);
  } catch (err) {
    decision.release();
    throw err;
  }
}

/** The server an event is about, as the policies see it (the payload `select` has validated). */
function serverFacts(event: DomainEvent): { id: string; tags: readonly string[]; environment: string } {
  const p = event.payload as { serverId: string; tags?: string[] | null; environment?: string | null };
  return { id: p.serverId, tags: p.tags ?? [], environment: p.environment ?? "" };
}

/** `iterator`, calling `release` once when it ends, however it ends. */
function releasing<T>(iterator: AsyncIterableIterator<T>, release: () => void): AsyncIterableIterator<T> {
  return {
    next: () =>
      iterator.next().then(
        (result) => {
          if (result.done) release();
          return result;
        },
        (err: unknown) => {
          release();
          throw err;
        },
      ),
    return: () => {
      release();
      return iterator.return ? iterator.return() : Promise.resolve({ value: undefined, done: true });
    },
    throw: (err?: unknown) => {
      release();
      return iterator.throw ? iterator.throw(err) : Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Live changes of the registry, resolved from the events the outbox relay publishes. */
@Resolver()
export class ChangesResolver {
  @Authorized("servers:read")
  @Subscription((_returns) => CapabilityChange, {
    description: "Capabilities added, changed or removed by discovery, on the caller's servers",
    subscribe: ({ args, context, info }) =>
      subscribeTo<CapabilityFilter, CapabilityChange>(
        context as SubgraphContext,
        info,
        args.filter as CapabilityFilter | null | undefined,
        selectCapabilityChange,
      ),
  })
  capabilityChanges(
    @Root() change: CapabilityChange,
    @Arg("filter", (_type) => CapabilityChangeFilter, { nullable: true }) _filter?: CapabilityChangeFilter,
  ): CapabilityChange {
    return change;
  }

  @Authorized("servers:read")
  @Subscription((_returns) => ServerHealthChange, {
    description: "Health status transitions of the caller's servers",
    subscribe: ({ args, context, info }) =>
      subscribeTo<ServerFilter, ServerHealthChange>(
        context as SubgraphContext,
        info,
        args.filter as ServerFilter | null | undefined,
        selectServerHealthChange,
      ),
  })
  serverHealthChanges(
    @Root() change: ServerHealthChange,
    @Arg("filter", (_type) => ServerHealthChangeFilter, { nullable: true }) _filter?: ServerHealthChangeFilter,
  ): ServerHealthChange {
    return change;
  }
}

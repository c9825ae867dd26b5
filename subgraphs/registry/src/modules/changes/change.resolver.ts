import { AppError, ErrorCode } from "@sprintconnect/core";
import { type DomainEvent, requirePrincipal, type SubgraphContext } from "@sprintconnect/subgraph-kit";
import { Arg, Authorized, Resolver, Root, Subscription } from "type-graphql";
import {
  type CapabilityFilter,
  normalizeFilter,
  type ServerFilter,
  selectCapabilityChange,
  selectServerHealthChange,
} from "./change.events";
import { CapabilityChange, CapabilityChangeFilter, ServerHealthChange, ServerHealthChangeFilter } from "./change.type";

/**
 * Subscribes the caller to the live events selected by `select`, for its own organization
 * only. `@Authorized` runs before this (type-graphql wraps `subscribe` with the auth check).
 */
function subscribeTo<F extends ServerFilter, T>(
  context: SubgraphContext,
  rawFilter: F | null | undefined,
  select: (event: DomainEvent, organizationId: string, filter: F) => T | undefined,
): Promise<AsyncIterableIterator<T>> {
  const { organizationId } = requirePrincipal(context);
  const filter = normalizeFilter(rawFilter);
  if (!context.events) throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, "Live events are unavailable");
  return context.events.subscribe((event) => select(event, organizationId, filter));
}

/** Live changes of the registry, resolved from the events the outbox relay publishes. */
@Resolver()
export class ChangesResolver {
  @Authorized("servers:read")
  @Subscription((_returns) => CapabilityChange, {
    description: "Capabilities added, changed or removed by discovery, on the caller's servers",
    subscribe: ({ args, context }) =>
      subscribeTo<CapabilityFilter, CapabilityChange>(
        context as SubgraphContext,
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
    subscribe: ({ args, context }) =>
      subscribeTo<ServerFilter, ServerHealthChange>(
        context as SubgraphContext,
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

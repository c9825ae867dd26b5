import type { ChangeSource, Logger, Principal } from "@sprintconnect/core";
import type { EventSource } from "./events";

/** What every resolver receives. */
export interface SubgraphContext {
  principal: Principal | null;
  requestId: string;
  /** Client IP as the gateway saw it. */
  ip: string | null;
  logger: Logger;
  /** Live events for subscriptions; absent where the app was started without an event source. */
  events?: EventSource;
}

/** What services need to record who did something: for audit entries and events. */
export interface Actor {
  principal: Principal;
  requestId: string;
  ip: string | null;
}

export function actorOf(context: SubgraphContext, principal: Principal): Actor {
  return { principal, requestId: context.requestId, ip: context.ip };
}

/** The caller as the audit log records it: the API key when one was used, else the user. */
export function sourceOf(actor: Actor): ChangeSource {
  const { principal } = actor;
  return {
    actorType: principal.apiKeyId ? "api_key" : "user",
    actorId: principal.apiKeyId ?? principal.userId,
    requestId: actor.requestId,
    ip: actor.ip,
  };
}

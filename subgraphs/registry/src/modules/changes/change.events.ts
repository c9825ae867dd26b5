import { badRequest } from "@sprintconnect/core";
import { type DomainEvent, isUuid } from "@sprintconnect/subgraph-kit";
import { z } from "zod";
import { CapabilityKind, HealthStatus, McpEnvironment } from "../shared/enums";
import { type CapabilityChange, CapabilityChangeType, type ServerHealthChange } from "./change.type";

/**
 * The event contract of the outbox relay, as far as subscriptions read it. Fields that only
 * filters use (environment, tags) are lenient; fields a subscriber receives are required.
 */
export const CAPABILITY_EVENT_TYPES: ReadonlySet<string> = new Set([
  "capability.added",
  "capability.changed",
  "capability.removed",
]);
export const HEALTH_EVENT_TYPE = "server.health_changed";

const serverFields = {
  serverId: z.string().min(1),
  serverName: z.string(),
  environment: z.enum(McpEnvironment).nullish(),
  tags: z.array(z.string()).nullish(),
};

const capabilityPayload = z.object({
  ...serverFields,
  capabilityId: z.string().min(1),
  name: z.string(),
  kind: z.enum(CapabilityKind),
  changeType: z.enum(CapabilityChangeType),
  definitionHash: z.string().nullish(),
  previousHash: z.string().nullish(),
  reviewRequired: z.boolean(),
});

const isoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), "must be an ISO date");

const healthPayload = z.object({
  ...serverFields,
  previousStatus: z.enum(HealthStatus).nullish(),
  status: z.enum(HealthStatus),
  latencyMs: z.number().finite().nonnegative().max(2_147_483_647).nullish(),
  checkedAt: isoDate.nullish(),
  reason: z.string().nullish(),
});

/** A subscriber's filter, normalized. */
export interface ServerFilter {
  serverId?: string | null;
  tag?: string | null;
  environment?: McpEnvironment | null;
}
export interface CapabilityFilter extends ServerFilter {
  kind?: CapabilityKind | null;
}

/** Normalizes a filter as the subscription received it: BAD_REQUEST for a serverId that is no UUID. */
export function normalizeFilter<F extends ServerFilter>(filter: F | null | undefined): F {
  const given = { ...(filter ?? {}) } as F;
  if (given.serverId != null && !isUuid(given.serverId)) throw badRequest("filter.serverId must be a UUID");
  if (given.tag != null) given.tag = given.tag.trim().toLowerCase();
  return given;
}

function matchesServer(
  payload: { serverId: string; environment?: string | null; tags?: string[] | null },
  filter: ServerFilter,
): boolean {
  if (filter.serverId != null && payload.serverId !== filter.serverId) return false;
  if (filter.environment != null && payload.environment !== filter.environment) return false;
  if (filter.tag != null && !(payload.tags ?? []).some((t) => t.toLowerCase() === filter.tag)) return false;
  return true;
}

function parsePayload<S extends z.ZodType>(schema: S, event: DomainEvent): z.infer<S> {
  const parsed = schema.safeParse(event.payload);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`malformed ${event.type} payload (${issues})`);
  }
  return parsed.data;
}

/**
 * The change a subscriber of `organizationId` with `filter` receives for `event`, or
 * undefined. Events of other organizations are never selected. Throws on a payload that
 * breaks the contract (the event hub logs and skips it).
 */
export function selectCapabilityChange(
  event: DomainEvent,
  organizationId: string,
  filter: CapabilityFilter,
): CapabilityChange | undefined {
  if (event.organizationId !== organizationId || !CAPABILITY_EVENT_TYPES.has(event.type)) return undefined;
  const p = parsePayload(capabilityPayload, event);
  if (!matchesServer(p, filter)) return undefined;
  if (filter.kind != null && p.kind !== filter.kind) return undefined;
  return {
    eventId: event.id,
    serverId: p.serverId,
    serverName: p.serverName,
    changeType: p.changeType,
    id: p.capabilityId,
    name: p.name,
    kind: p.kind,
    definitionHash: p.definitionHash ?? null,
    previousHash: p.previousHash ?? null,
    reviewRequired: p.reviewRequired,
    occurredAt: new Date(event.createdAt),
  };
}

/** The health change a subscriber of `organizationId` with `filter` receives for `event`, or undefined. */
export function selectServerHealthChange(
  event: DomainEvent,
  organizationId: string,
  filter: ServerFilter,
): ServerHealthChange | undefined {
  if (event.organizationId !== organizationId || event.type !== HEALTH_EVENT_TYPE) return undefined;
  const p = parsePayload(healthPayload, event);
  if (!matchesServer(p, filter)) return undefined;
  return {
    eventId: event.id,
    serverId: p.serverId,
    serverName: p.serverName,
    previousStatus: p.previousStatus ?? HealthStatus.unknown,
    status: p.status,
    latencyMs: p.latencyMs == null ? null : Math.round(p.latencyMs),
    checkedAt: new Date(p.checkedAt ?? event.createdAt),
    reason: p.reason ?? null,
  };
}

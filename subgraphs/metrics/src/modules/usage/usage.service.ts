import { checkInput, type Principal, pageSize, toPage, type UsageEvent as UsageEventRow } from "@sprintconnect/core";
import { isUuid } from "@sprintconnect/subgraph-kit";
import { z } from "zod";
import type { UsageEventsArgs } from "./usage.input";
import type { UsageRepository } from "./usage.repository";
import type { UsageEvent, UsageEventConnection } from "./usage.type";

const listRules = z
  .object({
    from: z.date().nullish(),
    to: z.date().nullish(),
    kind: z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters").nullish(),
  })
  .refine((v) => !v.from || !v.to || v.from <= v.to, { message: "must not be after `to`", path: ["from"] });

/** Reads usage events. Nothing here writes them: the components that meter usage do. */
export class UsageService {
  constructor(private readonly usage: UsageRepository) {}

  async list(principal: Principal, args: UsageEventsArgs): Promise<UsageEventConnection> {
    const take = pageSize(args.limit);
    const filter = checkInput(listRules, { from: args.from, to: args.to, kind: args.kind });
    // An id that is not a UUID names no server, so no event matches it.
    if (args.serverId && !isUuid(args.serverId)) return { items: [], nextCursor: null };
    const rows = await this.usage.list(
      principal.organizationId,
      { ...filter, serverId: args.serverId },
      take,
      args.cursor,
    );
    // Core pages by `createdAt`; an event's position in the list is its `occurredAt`.
    const page = toPage(
      rows.map((row) => ({ createdAt: row.occurredAt, id: row.id, row })),
      take,
    );
    return { items: page.items.map((p) => toUsageEvent(p.row)), nextCursor: page.nextCursor };
  }

  /** An event for an entity reference: null when absent or another organization's. */
  async find(principal: Principal, id: string): Promise<UsageEvent | null> {
    const row = isUuid(id) ? await this.usage.findById(principal.organizationId, id) : null;
    return row ? toUsageEvent(row) : null;
  }
}

export function toUsageEvent(row: UsageEventRow): UsageEvent {
  return {
    id: row.id,
    kind: row.kind,
    userId: row.userId,
    apiKeyId: row.apiKeyId,
    serverId: row.serverId,
    capabilityId: row.capabilityId,
    sessionId: row.sessionId,
    quantity: row.quantity,
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    // Fixed-point notation of the exact value: never a float, never exponent notation.
    costUsd: row.costUsd.toFixed(),
    durationMs: row.durationMs,
    success: row.success,
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
    occurredAt: row.occurredAt,
  };
}

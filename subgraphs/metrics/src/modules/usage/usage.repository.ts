import { type Db, decodeCursor, type Prisma, type UsageEvent as UsageEventRow } from "@sprintconnect/core";

export interface UsageEventFilter {
  /** Inclusive. */
  from?: Date | null;
  /** Exclusive. */
  to?: Date | null;
  kind?: string | null;
  serverId?: string | null;
}

/**
 * The only code that reads UsageEvent rows; every query is scoped by organization. Events are
 * ordered by (occurredAt desc, id desc); core's cursor carries `occurredAt` as its `createdAt`.
 */
export class UsageRepository {
  constructor(private readonly db: Db) {}

  findById(organizationId: string, id: string): Promise<UsageEventRow | null> {
    return this.db.usageEvent.findFirst({ where: { id, organizationId } });
  }

  /** `limit + 1` events after `cursor`, newest first. */
  list(
    organizationId: string,
    filter: UsageEventFilter,
    limit: number,
    cursor?: string | null,
  ): Promise<UsageEventRow[]> {
    const where: Prisma.UsageEventWhereInput = {
      organizationId,
      ...(filter.from || filter.to
        ? { occurredAt: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) } }
        : {}),
      ...(filter.kind ? { kind: filter.kind } : {}),
      ...(filter.serverId ? { serverId: filter.serverId } : {}),
      AND: [afterOccurredCursor(cursor)],
    };
    return this.db.usageEvent.findMany({ where, orderBy: [{ occurredAt: "desc" }, { id: "desc" }], take: limit + 1 });
  }
}

/** Prisma `where` fragment for events after `cursor` in (occurredAt desc, id desc) order. */
function afterOccurredCursor(cursor: string | null | undefined): Prisma.UsageEventWhereInput {
  if (!cursor) return {};
  const { createdAt: occurredAt, id } = decodeCursor(cursor);
  return { OR: [{ occurredAt: { lt: occurredAt } }, { occurredAt, id: { lt: id } }] };
}

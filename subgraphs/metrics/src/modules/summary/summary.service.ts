import {
  checkInput,
  decodeOffsetCursor,
  encodeOffsetCursor,
  LATENCY_BUCKETS_MS,
  type Principal,
  Prisma,
  type PrismaClient,
  pageSize,
  percentileBucket,
  rolledUntil,
  rollupRanges,
  USAGE_KINDS,
} from "@sprintconnect/core";
import { isUuid } from "@sprintconnect/subgraph-kit";
import { z } from "zod";
import type { UsageSummaryArgs, UsageTopArgs } from "./summary.input";
import type { SummaryRepository } from "./summary.repository";
import {
  UsageInterval,
  type UsageSummary,
  type UsageSummaryRow,
  type UsageTop,
  UsageTopMetric,
  UsageTopTarget,
} from "./summary.type";

const DAY_MS = 86_400_000;
/** The longest range one summary may cover. */
export const MAX_RANGE_DAYS = 400;

const rules = z
  .object({
    from: z.date(),
    to: z.date(),
    timeZone: z.string().refine(isTimeZone, "must be an IANA time zone, e.g. Europe/Paris or UTC"),
    environment: z.enum(["development", "staging", "production"]).nullish(),
    kind: z.enum(USAGE_KINDS, { error: `must be one of ${USAGE_KINDS.join(", ")}` }).nullish(),
  })
  .refine((v) => v.from < v.to, { message: "must be before `to`", path: ["from"] })
  .refine((v) => v.to.getTime() - v.from.getTime() <= MAX_RANGE_DAYS * DAY_MS, {
    message: `the range may span at most ${MAX_RANGE_DAYS} days`,
    path: ["to"],
  });

/**
 * Usage summaries: totals per time bucket and per requested dimensions, exact over any range.
 * Whole hours (and whole UTC days) that the rollup has covered are read from UsageRollup; the
 * range's ragged edges and everything after `rolledUntil` from the raw events.
 */
export class SummaryService {
  constructor(
    private readonly db: PrismaClient,
    private readonly summaries: SummaryRepository,
  ) {}

  /**
   * Servers (or their tools) ranked by a metric over [from, to): every target's totals and
   * latency histogram in one statement, ranked here (at most the organization's servers or tools).
   */
  async top(principal: Principal, args: UsageTopArgs): Promise<UsageTop> {
    const input = checkInput(rules, {
      from: args.from,
      to: args.to,
      timeZone: "UTC",
      environment: args.environment,
      kind: args.kind ?? "chat.tool_call",
    });
    const limit = pageSize(args.limit, 100, 10);
    const metric = args.metric ?? UsageTopMetric.calls;
    const until = await rolledUntil(this.db);
    const rows = await this.summaries.perTarget(
      {
        organizationId: principal.organizationId,
        from: input.from,
        to: input.to,
        rollups: until ? rollupRanges(input.from, input.to, until, UsageInterval.none, "UTC") : [],
        environment: input.environment,
        kind: input.kind,
      },
      (args.by ?? UsageTopTarget.servers) === UsageTopTarget.capabilities,
    );
    const entries = rows.map((row) => {
      const p95 = percentileBucket(row.histogram, 0.95);
      return {
        row,
        p95,
        cost: new Prisma.Decimal(row.costUsd ?? "0"),
      };
    });
    const value = (e: (typeof entries)[number]): Prisma.Decimal => {
      switch (metric) {
        case UsageTopMetric.errors:
          return new Prisma.Decimal(e.row.errors);
        case UsageTopMetric.tokens:
          return new Prisma.Decimal(e.row.tokens);
        case UsageTopMetric.cost:
          return e.cost;
        case UsageTopMetric.p95_latency:
          return new Prisma.Decimal(e.p95 ?? -1);
        default:
          return new Prisma.Decimal(e.row.events);
      }
    };
    entries.sort(
      (a, b) =>
        value(b).comparedTo(value(a)) ||
        a.row.serverId.localeCompare(b.row.serverId) ||
        (a.row.toolName ?? "").localeCompare(b.row.toolName ?? ""),
    );
    return {
      items: entries.slice(0, limit).map((e, i) => ({
        rank: i + 1,
        serverId: e.row.serverId,
        toolName: e.row.toolName,
        calls: e.row.events,
        errors: e.row.errors,
        tokens: e.row.tokens,
        costUsd: e.cost.toFixed(),
        p95LatencyMs:
          e.p95 === null ? null : (LATENCY_BUCKETS_MS[Math.min(e.p95, LATENCY_BUCKETS_MS.length - 1)] ?? null),
        p95AboveLastBucket: e.p95 === LATENCY_BUCKETS_MS.length,
      })),
    };
  }

  async summarize(principal: Principal, args: UsageSummaryArgs): Promise<UsageSummary> {
    const timeZone = args.timeZone ?? "UTC";
    const input = checkInput(rules, {
      from: args.from,
      to: args.to,
      timeZone,
      environment: args.environment,
      kind: args.kind,
    });
    const take = pageSize(args.limit, 1000, 100);
    const offset = decodeOffsetCursor(args.cursor);
    const interval = args.interval ?? UsageInterval.none;
    const dimensions = [...new Set(args.groupBy ?? [])];
    // An id that is not a UUID names no server: nothing matches it.
    if (args.serverId && !isUuid(args.serverId)) {
      return { items: [], nextCursor: null, timeZone, rolledUntil: null };
    }
    const until = await rolledUntil(this.db);
    const rows = await this.summaries.summarize({
      organizationId: principal.organizationId,
      from: input.from,
      to: input.to,
      dimensions,
      interval,
      timeZone,
      rollups: until ? rollupRanges(input.from, input.to, until, interval, timeZone) : [],
      serverId: args.serverId,
      environment: input.environment,
      kind: input.kind,
      limit: take,
      offset,
    });
    const page = rows.slice(0, take);
    return {
      items: page.map(
        (row): UsageSummaryRow => ({
          bucket: row.bucket,
          kind: row.kind,
          serverId: row.serverId,
          toolName: row.toolName,
          userId: row.userId,
          apiKeyId: row.apiKeyId,
          model: row.model,
          events: row.events,
          errors: row.errors,
          quantity: row.quantity,
          inputTokens: row.inputTokens,
          outputTokens: row.outputTokens,
          cachedTokens: row.cachedTokens,
          costUsd: new Prisma.Decimal(row.costUsd ?? "0").toFixed(),
          avgDurationMs: row.durationCount > 0 ? row.durationMsSum / row.durationCount : null,
        }),
      ),
      nextCursor: rows.length > take ? encodeOffsetCursor(offset + take) : null,
      timeZone,
      rolledUntil: until,
    };
  }
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

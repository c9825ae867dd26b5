import { Prisma } from "@prisma/client";
import type { PrismaClient } from "../db/prisma";

/**
 * Upper bounds (ms) of the latency buckets of `UsageRollup.latencyHistogram`; a last, open
 * bucket holds everything slower. Percentiles read from rollups are the upper bound of the
 * bucket where the percentile falls.
 */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Serializes rollups across schedulers and manual runs (pg advisory lock key). */
const ROLLUP_LOCK = 0x5c_0a_11_00;

export interface RollupOptions {
  /** Hours closer to now than this are left to the raw tail (events still being written). */
  graceMs: number;
  /**
   * Hours before `rolledUntil` rolled again on every run, so events that arrive late (a
   * process that buffered them, a clock behind) still reach the rollups.
   */
  lookbackHours: number;
  /** Hours rolled per run at most (a long backlog is worked off over several runs). */
  maxHours: number;
  /** Test hook: called inside each hour's transaction after its rows are written, before commit. */
  beforeCommit?: (hour: Date) => void | Promise<void>;
}

export const DEFAULT_ROLLUP_OPTIONS: RollupOptions = { graceMs: 5 * 60_000, lookbackHours: 2, maxHours: 24 * 7 };

/** Start of the UTC hour that contains `t`. */
export function floorHour(t: Date): Date {
  return new Date(Math.floor(t.getTime() / HOUR_MS) * HOUR_MS);
}

/** Where the rollup stands: every hour before this instant is in UsageRollup (null: nothing rolled yet). */
export async function rolledUntil(db: Pick<PrismaClient, "usageRollupState">): Promise<Date | null> {
  const state = await db.usageRollupState.findUnique({ where: { id: 1 } });
  return state?.rolledUntil ?? null;
}

/**
 * Rolls raw usage events into hourly rows, and the hours into UTC days: from a little before
 * `rolledUntil` (see `lookbackHours`) up to the last hour that ended `graceMs` ago. Each hour
 * is one transaction that deletes and rebuilds that hour's rows and its day's rows and moves
 * `rolledUntil`: running it twice gives the same rows, and an interrupted run leaves whole hours.
 * Returns the hours rolled.
 */
export async function rollUpUsage(
  db: PrismaClient,
  now = new Date(),
  options: RollupOptions = DEFAULT_ROLLUP_OPTIONS,
): Promise<{ hours: number; rolledUntil: Date | null }> {
  const target = floorHour(new Date(now.getTime() - options.graceMs));
  const until = await rolledUntil(db);
  let start: Date;
  if (until) {
    start = new Date(until.getTime() - options.lookbackHours * HOUR_MS);
  } else {
    const [first] = await db.$queryRaw<Array<{ at: Date | null }>>`SELECT min("occurredAt") AS at FROM "UsageEvent"`;
    if (!first?.at) return { hours: 0, rolledUntil: null };
    start = floorHour(first.at);
  }
  let hours = 0;
  for (let hour = start; hour < target && hours < options.maxHours; hour = new Date(hour.getTime() + HOUR_MS)) {
    await rollHour(db, hour, options);
    hours++;
  }
  return { hours, rolledUntil: await rolledUntil(db) };
}

async function rollHour(db: PrismaClient, hour: Date, options: RollupOptions): Promise<void> {
  const end = new Date(hour.getTime() + HOUR_MS);
  const day = new Date(Math.floor(hour.getTime() / DAY_MS) * DAY_MS);
  const dayEnd = new Date(day.getTime() + DAY_MS);
  await db.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ROLLUP_LOCK})`;
      await tx.$executeRaw`DELETE FROM "UsageRollup" WHERE period = 'hour' AND "bucketStart" = ${hour}`;
      await tx.$executeRaw`
        INSERT INTO "UsageRollup" ("organizationId", period, "bucketStart", kind, "serverId", "toolName", "userId",
          "apiKeyId", model, events, quantity, errors, "inputTokens", "outputTokens", "cachedTokens", "costUsd",
          "durationMsSum", "durationCount", "latencyHistogram")
        SELECT "organizationId", 'hour', ${hour}, kind, "serverId", "toolName", "userId", "apiKeyId", model,
               count(*), sum(quantity), count(*) FILTER (WHERE NOT success), sum("inputTokens"), sum("outputTokens"),
               sum("cachedTokens"), sum("costUsd"), coalesce(sum("durationMs"), 0), count("durationMs"),
               ${histogramFromEvents}
          FROM "UsageEvent"
         WHERE "occurredAt" >= ${hour} AND "occurredAt" < ${end}
         GROUP BY "organizationId", kind, "serverId", "toolName", "userId", "apiKeyId", model`;
      await tx.$executeRaw`DELETE FROM "UsageRollup" WHERE period = 'day' AND "bucketStart" = ${day}`;
      await tx.$executeRaw`
        INSERT INTO "UsageRollup" ("organizationId", period, "bucketStart", kind, "serverId", "toolName", "userId",
          "apiKeyId", model, events, quantity, errors, "inputTokens", "outputTokens", "cachedTokens", "costUsd",
          "durationMsSum", "durationCount", "latencyHistogram")
        SELECT "organizationId", 'day', ${day}, kind, "serverId", "toolName", "userId", "apiKeyId", model,
               sum(events), sum(quantity), sum(errors), sum("inputTokens"), sum("outputTokens"), sum("cachedTokens"),
               sum("costUsd"), sum("durationMsSum"), sum("durationCount"), ${histogramFromRollups}
          FROM "UsageRollup"
         WHERE period = 'hour' AND "bucketStart" >= ${day} AND "bucketStart" < ${dayEnd}
         GROUP BY "organizationId", kind, "serverId", "toolName", "userId", "apiKeyId", model`;
      await tx.$executeRaw`
        INSERT INTO "UsageRollupState" (id, "rolledUntil", "updatedAt") VALUES (1, ${end}, now())
        ON CONFLICT (id) DO UPDATE SET "rolledUntil" = greatest("UsageRollupState"."rolledUntil", ${end}),
                                       "updatedAt" = now()`;
      await options.beforeCommit?.(hour);
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
}

/** `ARRAY[count in bucket 0, …]` over raw events' `durationMs` (events without one count in none). */
const histogramFromEvents = Prisma.raw(
  `ARRAY[${[...LATENCY_BUCKETS_MS, null]
    .map((upper, i) => {
      const lower = i === 0 ? null : LATENCY_BUCKETS_MS[i - 1];
      const conditions = [
        '"durationMs" IS NOT NULL',
        ...(lower === null ? [] : [`"durationMs" > ${lower}`]),
        ...(upper === null ? [] : [`"durationMs" <= ${upper}`]),
      ];
      return `count(*) FILTER (WHERE ${conditions.join(" AND ")})::int`;
    })
    .join(", ")}]`,
);

/** `ARRAY[sum of bucket 0, …]` over rollup rows' histograms. */
const histogramFromRollups = Prisma.raw(
  `ARRAY[${[...LATENCY_BUCKETS_MS, null].map((_, i) => `coalesce(sum("latencyHistogram"[${i + 1}]), 0)::int`).join(", ")}]`,
);

/** Rollup rows of one period whose buckets start in [from, to), both aligned to the period: they cover exactly [from, to). */
export interface RollupRange {
  period: "hour" | "day";
  from: Date;
  to: Date;
}

/** Time buckets a reader groups by (`none`: one total over the range). */
export type RollupInterval = "none" | "hour" | "day" | "week" | "month";

/**
 * Which rollup rows may stand for the raw events of [from, to): whole hours up to `until`, when
 * every hour falls inside one bucket of `interval` in `timeZone` (its offset is whole hours);
 * of those, whole UTC days, when a UTC day falls inside one bucket too (no time buckets, or
 * a zone at UTC+0 and buckets of a day or more).
 */
export function rollupRanges(
  from: Date,
  to: Date,
  until: Date,
  interval: RollupInterval,
  timeZone: string,
): RollupRange[] {
  const h0 = ceilTo(from, HOUR_MS);
  const h1 = new Date(Math.min(floorHour(to).getTime(), until.getTime()));
  if (h0 >= h1) return [];
  const offsets = interval === "none" ? [0] : offsetsMinutes(timeZone, from, to);
  if (offsets.some((m) => m % 60 !== 0)) return [];
  const daysFit = interval === "none" || (interval !== "hour" && offsets.every((m) => m === 0));
  const d0 = ceilTo(h0, DAY_MS);
  const d1 = new Date(Math.floor(h1.getTime() / DAY_MS) * DAY_MS);
  if (!daysFit || d0 >= d1) return [{ period: "hour", from: h0, to: h1 }];
  const ranges: RollupRange[] = [{ period: "day", from: d0, to: d1 }];
  if (h0 < d0) ranges.push({ period: "hour", from: h0, to: d0 });
  if (d1 < h1) ranges.push({ period: "hour", from: d1, to: h1 });
  return ranges;
}

/**
 * The parts of [from, to) that no rollup range covers, in order: where raw events must be read.
 * Each is its own index range scan — a single scan of [from, to) that skips the covered parts
 * would read (and discard) every event the rollups stand for.
 */
export function uncovered(from: Date, to: Date, ranges: readonly RollupRange[]): Array<{ from: Date; to: Date }> {
  const parts: Array<{ from: Date; to: Date }> = [];
  let at = from.getTime();
  for (const range of [...ranges].sort((a, b) => a.from.getTime() - b.from.getTime())) {
    if (range.from.getTime() > at) parts.push({ from: new Date(at), to: range.from });
    at = Math.max(at, range.to.getTime());
  }
  if (at < to.getTime()) parts.push({ from: new Date(at), to });
  return parts;
}

/**
 * The index of the histogram bucket that holds the `q` quantile (0 < q ≤ 1); null for an empty
 * histogram. The last index is the open bucket above every bound.
 */
export function percentileBucket(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const [i, count] of histogram.entries()) {
    seen += count;
    if (seen >= rank) return i;
  }
  return histogram.length - 1;
}

function ceilTo(t: Date, unit: number): Date {
  return new Date(Math.ceil(t.getTime() / unit) * unit);
}

/** The zone's UTC offsets (minutes) over [from, to], sampled daily and at both ends. */
function offsetsMinutes(timeZone: string, from: Date, to: Date): number[] {
  const format = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" });
  const offset = (t: number) => {
    const name = format.formatToParts(new Date(t)).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
    const match = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
    if (!match) return 0;
    return (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3] ?? 0));
  };
  const seen = new Set<number>([offset(from.getTime()), offset(to.getTime())]);
  for (let t = from.getTime(); t < to.getTime(); t += DAY_MS) seen.add(offset(t));
  return [...seen];
}

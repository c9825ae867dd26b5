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

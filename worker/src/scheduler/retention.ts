import { DEFAULT_ROLLUP_OPTIONS, type PrismaClient, rolledUntil } from "@sprintconnect/core";

/** Rows deleted per statement, so a large backlog never holds long locks. */
const BATCH = 5_000;

/**
 * Deletes what has served its purpose: raw health check results (one per server per
 * interval — millions a day at scale; the current state and recent history stay), outbox
 * events that were published long ago, and logins (refresh token families) past their end.
 * Unpublished events are never deleted. Raw usage events go only once the rollup has them
 * (before `rolledUntil`, less the hours it may roll again).
 */
export async function applyRetention(
  db: PrismaClient,
  policy: { healthChecksDays: number; eventsDays: number; usageEventsDays: number },
  now = new Date(),
): Promise<{ healthChecks: number; events: number; refreshFamilies: number; usageEvents: number }> {
  const day = 86_400_000;
  const healthCutoff = new Date(now.getTime() - policy.healthChecksDays * day);
  const eventCutoff = new Date(now.getTime() - policy.eventsDays * day);
  const healthChecks = await inBatches(
    () => db.$executeRaw`DELETE FROM "HealthCheck" WHERE id IN (
      SELECT id FROM "HealthCheck" WHERE "checkedAt" < ${healthCutoff} LIMIT ${BATCH})`,
  );
  const events = await inBatches(
    () => db.$executeRaw`DELETE FROM "Event" WHERE id IN (
      SELECT id FROM "Event" WHERE "publishedAt" IS NOT NULL AND "publishedAt" < ${eventCutoff} LIMIT ${BATCH})`,
  );
  // --- OIDC login (issue 9) ---
  // A family past its end refuses every token anyway; its tokens go with it (cascade).
  const refreshFamilies = await inBatches(
    () => db.$executeRaw`DELETE FROM "RefreshTokenFamily" WHERE id IN (
      SELECT id FROM "RefreshTokenFamily" WHERE "expiresAt" < ${now} LIMIT ${BATCH})`,
  );
  // --- end OIDC login ---
  let usageEvents = 0;
  const rolled = await rolledUntil(db);
  if (rolled) {
    const safe = rolled.getTime() - DEFAULT_ROLLUP_OPTIONS.lookbackHours * 3_600_000;
    const usageCutoff = new Date(Math.min(now.getTime() - policy.usageEventsDays * day, safe));
    usageEvents = await inBatches(
      () => db.$executeRaw`DELETE FROM "UsageEvent" WHERE id IN (
        SELECT id FROM "UsageEvent" WHERE "occurredAt" < ${usageCutoff} LIMIT ${BATCH})`,
    );
  }
  return { healthChecks, events, refreshFamilies, usageEvents };
}

/** Runs a DELETE of at most BATCH rows until one deletes fewer; returns the rows deleted. */
async function inBatches(deleteBatch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deleteBatch();
    total += n;
    if (n < BATCH) return total;
  }
}

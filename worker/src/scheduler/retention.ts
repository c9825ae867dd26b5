import { DEFAULT_ROLLUP_OPTIONS, type PrismaClient, rolledUntil } from "@sprintconnect/core";

/** Rows deleted per statement, so a large backlog never holds long locks. */
const BATCH = 5_000;

/**
 * Deletes what has served its purpose: raw health check results (one per server per
 * interval — millions a day at scale; the current state and recent history stay) and outbox
 * events that were published long ago. Unpublished events are never deleted. Raw usage events
 * go only once the rollup has them (before `rolledUntil`, less the hours it may roll again).
 */
export async function applyRetention(
  db: PrismaClient,
  policy: { healthChecksDays: number; eventsDays: number; usageEventsDays: number },
  now = new Date(),
): Promise<{ healthChecks: number; events: number; usageEvents: number }> {
  const day = 86_400_000;
  const healthCutoff = new Date(now.getTime() - policy.healthChecksDays * day);
  const eventCutoff = new Date(now.getTime() - policy.eventsDays * day);
  let healthChecks = 0;
  let events = 0;
  for (;;) {
    const n = await db.$executeRaw`DELETE FROM "HealthCheck" WHERE id IN (
      SELECT id FROM "HealthCheck" WHERE "checkedAt" < ${healthCutoff} LIMIT ${BATCH})`;
    healthChecks += n;
    if (n < BATCH) break;
  }
  for (;;) {
    const n = await db.$executeRaw`DELETE FROM "Event" WHERE id IN (
      SELECT id FROM "Event" WHERE "publishedAt" IS NOT NULL AND "publishedAt" < ${eventCutoff} LIMIT ${BATCH})`;
    events += n;
    if (n < BATCH) break;
  }
  let usageEvents = 0;
  const rolled = await rolledUntil(db);
  if (rolled) {
    const safe = rolled.getTime() - DEFAULT_ROLLUP_OPTIONS.lookbackHours * 3_600_000;
    const usageCutoff = new Date(Math.min(now.getTime() - policy.usageEventsDays * day, safe));
    for (;;) {
      const n = await db.$executeRaw`DELETE FROM "UsageEvent" WHERE id IN (
        SELECT id FROM "UsageEvent" WHERE "occurredAt" < ${usageCutoff} LIMIT ${BATCH})`;
      usageEvents += n;
      if (n < BATCH) break;
    }
  }
  return { healthChecks, events, usageEvents };
}

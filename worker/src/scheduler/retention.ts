import type { PrismaClient } from "@sprintconnect/core";

/** Rows deleted per statement, so a large backlog never holds long locks. */
const BATCH = 5_000;

/**
 * Deletes what has served its purpose: raw health check results (one per server per
 * interval — millions a day at scale; the current state and recent history stay), outbox
 * events that were published long ago, and logins (refresh token families) past their end.
 * Unpublished events are never deleted.
 */
export async function applyRetention(
  db: PrismaClient,
  policy: { healthChecksDays: number; eventsDays: number },
  now = new Date(),
): Promise<{ healthChecks: number; events: number; refreshFamilies: number }> {
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
  // --- OIDC login (issue 9) ---
  // A family past its end refuses every token anyway; its tokens go with it (cascade).
  let refreshFamilies = 0;
  for (;;) {
    const n = await db.$executeRaw`DELETE FROM "RefreshTokenFamily" WHERE id IN (
      SELECT id FROM "RefreshTokenFamily" WHERE "expiresAt" < ${now} LIMIT ${BATCH})`;
    refreshFamilies += n;
    if (n < BATCH) break;
  }
  // --- end OIDC login ---
  return { healthChecks, events, refreshFamilies };
}

import { z } from "zod";
import { defineJob } from "./define";

/**
 * Discover what a server offers. The job id is the run id: one DiscoveryRun row, one job,
 * however often it is retried or recovered from a stalled worker. Grouped by organization, so
 * one tenant's slow servers cannot take every worker slot (WORKER_ORG_CONCURRENCY).
 */
export const discoveryJob = defineJob({
  name: "discovery",
  schema: z.object({ runId: z.uuid(), serverId: z.uuid(), organizationId: z.uuid() }).strict(),
  retries: 2,
  backoffMs: 5_000,
  timeoutMs: 5 * 60_000,
  group: (payload) => payload.organizationId,
});

/**
 * Check a server's health once. The job id is the server and the schedule slot, so a server
 * is never queued twice for the same slot.
 */
export const healthCheckJob = defineJob({
  name: "health-check",
  schema: z.object({ serverId: z.uuid(), organizationId: z.uuid() }).strict(),
  retries: 0,
  timeoutMs: 60_000,
});

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

/**
 * Run one chat turn: the agent answers the turn's user message. The job id is the turn id. A
 * turn is never run twice: each attempt acts on the turn's stored status — `queued` is claimed
 * and run, `running` (a worker died mid-turn, or an attempt failed after the claim) is marked
 * `interrupted` instead of running tools a second time, anything else only frees the session.
 * So retries are safe, and they are what carries a turn over a failure before its claim (a
 * database or Redis error): without them the turn stayed queued and held its session.
 */
export const chatTurnJob = defineJob({
  name: "chat-turn",
  schema: z.object({ turnId: z.uuid(), sessionId: z.uuid(), organizationId: z.uuid() }).strict(),
  retries: 2,
  backoffMs: 500,
  // Above CHAT_TURN_TIMEOUT_SECONDS' maximum sensible value; the worker enforces the real limit.
  timeoutMs: 60 * 60_000,
});

/**
 * A job that does nothing: the worker takes it and acknowledges it. It measures the queue path
 * itself (enqueue → a worker → done) without any job's own work: `bench/jobs.bench.ts` drives
 * it, and an operator can use it to check that workers are taking jobs.
 */
export const pingJob = defineJob({
  name: "ping",
  schema: z.object({}).strict(),
  retries: 0,
  timeoutMs: 10_000,
});

// --- webhooks (issue 10) ---
/**
 * Attempt one webhook delivery once. The delivery row (PostgreSQL) is the truth: it holds the
 * attempt count and when the next attempt is due, and a worker leases it while it sends, so a
 * duplicate job, a stalled one or one the sweeper re-queued finds nothing to do. The job id is
 * the delivery and its attempt number. Retries are scheduled by the handler (exponential
 * backoff with jitter, WEBHOOK_RETRY_*) as delayed jobs, not by Bee-Queue.
 */
export const webhookDeliveryJob = defineJob({
  name: "webhook-delivery",
  schema: z.object({ deliveryId: z.uuid(), organizationId: z.uuid() }).strict(),
  retries: 0,
  // Above any sensible WEBHOOK_TIMEOUT_MS; the egress guard enforces the real limit.
  timeoutMs: 5 * 60_000,
});

/**
 * The Bee-Queue job id of a delivery's attempt `attempt` (1-based). A manual redelivery gets an
 * id of its own (`manual`, a unique tag): a retry already queued, delayed, under the plain id
 * would otherwise swallow it until its own time came.
 */
export function webhookDeliveryJobId(deliveryId: string, attempt: number, manual?: string): string {
  return manual ? `${deliveryId}:${attempt}:manual:${manual}` : `${deliveryId}:${attempt}`;
}
// --- end webhooks ---

import type { Db, PrismaClient } from "@sprintconnect/core";
import { discoveryJob } from "./jobs";
import type { JobQueues } from "./queues";

/** A pending or running discovery younger than this is reused rather than duplicated. */
const REUSE_WINDOW_MS = 10 * 60_000;

export interface DiscoveryRequest {
  runId: string;
  serverId: string;
  status: "pending" | "running" | "succeeded" | "failed";
  /** false when an earlier request for the same server was still pending or running. */
  created: boolean;
}

/**
 * Records a discovery run for a server and queues its job (job id = run id). A server with a
 * run still pending or running gets that run back instead of a second one. Called by the
 * registry (on registration and on demand) and by the scheduler.
 */
export async function requestDiscovery(
  db: PrismaClient,
  queues: JobQueues,
  request: {
    organizationId: string;
    serverId: string;
    trigger: "manual" | "registration" | "update" | "schedule";
    userId?: string | null;
  },
): Promise<DiscoveryRequest> {
  const result = await db.$transaction(async (tx: Db) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`discovery:${request.serverId}`}, 0))`;
    const existing = await tx.discoveryRun.findFirst({
      where: {
        serverId: request.serverId,
        status: { in: ["pending", "running"] },
        createdAt: { gt: new Date(Date.now() - REUSE_WINDOW_MS) },
      },
      orderBy: { createdAt: "desc" },
    });
    if (existing) return { run: existing, created: false };
    const run = await tx.discoveryRun.create({
      data: {
        organizationId: request.organizationId,
        serverId: request.serverId,
        trigger: request.trigger,
        requestedByUserId: request.userId ?? null,
      },
    });
    await tx.mcpServer.update({ where: { id: request.serverId }, data: { discoveryStatus: "pending" } });
    return { run, created: true };
  });
  // Outside the transaction: a queue outage must not lose the run; the scheduler re-queues
  // pending runs, and the run id as job id keeps that from duplicating a queued job.
  await queues.enqueue(
    discoveryJob,
    { runId: result.run.id, serverId: request.serverId, organizationId: request.organizationId },
    { jobId: result.run.id },
  );
  return { runId: result.run.id, serverId: request.serverId, status: result.run.status, created: result.created };
}

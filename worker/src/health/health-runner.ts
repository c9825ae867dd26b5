import {
  emitEvent,
  type Logger,
  type Outputs,
  type PrismaClient,
  type SecretStore,
  type UsageKind,
} from "@sprintconnect/core";
import type { healthCheckJob, JobPayload } from "@sprintconnect/jobs";
import { type FetchLike, type Probe, probe } from "@sprintconnect/mcp";
import { credentialHeaders, UnusableCredentialsError } from "../credentials";
import { type HealthStatus, nextHealthState } from "./health-state";

export interface HealthRunnerDeps {
  db: PrismaClient;
  secrets: SecretStore;
  fetch: FetchLike;
  outputs: Outputs;
  logger: Logger;
  timeoutMs: number;
  degradedAfterMs: number;
  threshold: number;
}

/**
 * One health check: connect, `ping`, measure; record the raw result; move the server's state
 * only when `threshold` consecutive results agree (see nextHealthState); publish a
 * `server.health_changed` event with the change, in the same transaction.
 */
export class HealthRunner {
  constructor(private readonly deps: HealthRunnerDeps) {}

  async check(payload: JobPayload<typeof healthCheckJob>): Promise<void> {
    const { db } = this.deps;
    const server = await db.mcpServer.findFirst({
      where: { id: payload.serverId, organizationId: payload.organizationId, deletedAt: null, status: "active" },
    });
    if (!server) return;
    const result = await this.probe(server);
    const checkedAt = new Date();
    const outcome = await db.$transaction(async (tx) => {
      // Checks of one server apply one at a time, against the state the last one left.
      const [current] = await tx.$queryRaw<
        Array<{ healthStatus: HealthStatus; healthCandidate: HealthStatus | null; healthCandidateRun: number }>
      >`SELECT "healthStatus", "healthCandidate", "healthCandidateRun" FROM "McpServer" WHERE id = ${server.id}::uuid FOR UPDATE`;
      if (!current) return null;
      const next = nextHealthState(
        {
          status: current.healthStatus,
          candidate: current.healthCandidate === "unknown" ? null : current.healthCandidate,
          candidateRun: current.healthCandidateRun,
        },
        result.result,
        this.deps.threshold,
      );
      // Metered with the check it measures (kind `health.check`): one event per stored result.
      await tx.usageEvent.create({
        data: {
          organizationId: server.organizationId,
          serverId: server.id,
          kind: "health.check" satisfies UsageKind,
          durationMs: result.latencyMs,
          success: result.result === "healthy" || result.result === "degraded",
          metadata: { result: result.result },
          occurredAt: checkedAt,
        },
      });
      await tx.healthCheck.create({
        data: {
          organizationId: server.organizationId,
          serverId: server.id,
          result: result.result,
          latencyMs: result.latencyMs,
          error: result.error,
          checkedAt,
        },
      });
      await tx.mcpServer.update({
        where: { id: server.id },
        data: {
          healthStatus: next.status,
          healthCandidate: next.candidate,
          healthCandidateRun: next.candidateRun,
          lastHealthCheckAt: checkedAt,
          healthLatencyMs: result.latencyMs,
          healthReason: result.error,
        },
      });
      if (next.changed) {
        await emitEvent(tx, {
          organizationId: server.organizationId,
          type: "server.health_changed",
          aggregateId: server.id,
          payload: {
            serverId: server.id,
            serverName: server.name,
            environment: server.environment,
            tags: server.tags,
            previousStatus: current.healthStatus,
            status: next.status,
            latencyMs: result.latencyMs,
            checkedAt: checkedAt.toISOString(),
            reason: result.error,
          },
        });
      }
      return { previous: current.healthStatus, ...next };
    });
    if (!outcome) return;
    if (outcome.changed) {
      this.deps.logger.info(
        { serverId: server.id, from: outcome.previous, to: outcome.status },
        "server health changed",
      );
    }
    await this.deps.outputs
      .write("health-reports", `${server.id}.json`, {
        serverId: server.id,
        name: server.name,
        checkedAt,
        result: result.result,
        latencyMs: result.latencyMs,
        error: result.error,
        status: outcome.status,
        pending: outcome.candidate ? { status: outcome.candidate, consecutive: outcome.candidateRun } : null,
      })
      .catch(() => undefined);
  }

  /** Unusable stored credentials are `auth_required` without connecting: never a check without them. */
  private async probe(server: { id: string; baseUrl: string; transport: "streamable_http" | "sse" }): Promise<Probe> {
    let headers: Record<string, string>;
    try {
      headers = await credentialHeaders(this.deps.db, this.deps.secrets, server);
    } catch (err) {
      if (err instanceof UnusableCredentialsError)
        return { result: "auth_required", latencyMs: null, error: err.message };
      throw err;
    }
    return probe(
      { url: server.baseUrl, transport: server.transport, headers },
      { fetch: this.deps.fetch, timeoutMs: this.deps.timeoutMs, degradedAfterMs: this.deps.degradedAfterMs },
    );
  }
}

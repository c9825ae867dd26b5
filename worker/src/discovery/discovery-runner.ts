import {
  AppError,
  ErrorCode,
  emitEvents,
  type Logger,
  type Outputs,
  type PrismaClient,
  recordChange,
  type SecretStore,
  SYSTEM_SOURCE,
  type UsageKind,
} from "@sprintconnect/core";
import type { discoveryJob, JobPayload } from "@sprintconnect/jobs";
import {
  type DiscoveryBudget,
  DiscoveryBudgetExceededError,
  describeRemoteError,
  discover,
  type FetchLike,
} from "@sprintconnect/mcp";
import { credentialHeaders, UnusableCredentialsError } from "../credentials";
import { applyDiscovery, changeEvents } from "./capability-store";

export interface DiscoveryRunnerDeps {
  db: PrismaClient;
  secrets: SecretStore;
  fetch: FetchLike;
  outputs: Outputs;
  logger: Logger;
  timeoutMs: number;
  /** What one run may cost (DISCOVERY_MAX_CAPABILITIES, DISCOVERY_MAX_BYTES, DISCOVERY_MAX_SECONDS). */
  budget: DiscoveryBudget;
}

/** Errors that another attempt cannot fix: a refused URL, a server that exceeds the budget. */
function isFinal(err: unknown): boolean {
  return (
    (err instanceof AppError && err.code === ErrorCode.EGRESS_DENIED) ||
    err instanceof DiscoveryBudgetExceededError ||
    err instanceof UnusableCredentialsError
  );
}

/**
 * Runs one discovery job: connect, list everything, store the diff with its history and
 * events in one transaction, record the outcome on the run and the server, write the result
 * under outputs/. Safe to run twice for the same run (a recovered stalled job): a finished run
 * is skipped, and a repeated discovery finds nothing new to store.
 */
export class DiscoveryRunner {
  constructor(private readonly deps: DiscoveryRunnerDeps) {}

  async run(payload: JobPayload<typeof discoveryJob>, job: { id: string; finalAttempt: boolean }): Promise<void> {
    const { db, logger } = this.deps;
    const log = logger.child({ jobId: job.id, runId: payload.runId, serverId: payload.serverId });
    const run = await db.discoveryRun.findUnique({ where: { id: payload.runId } });
    if (!run || run.status === "succeeded" || run.status === "failed") {
      log.info({ status: run?.status ?? "missing" }, "discovery run already finished");
      return;
    }
    const server = await db.mcpServer.findFirst({
      where: { id: payload.serverId, organizationId: payload.organizationId, deletedAt: null },
    });
    if (!server) {
      await db.discoveryRun.update({
        where: { id: run.id },
        data: { status: "failed", error: "the server was deregistered", finishedAt: new Date() },
      });
      return;
    }
    await db.$transaction([
      db.discoveryRun.update({
        where: { id: run.id },
        data: { status: "running", attempts: { increment: 1 }, startedAt: new Date() },
      }),
      db.mcpServer.update({ where: { id: server.id }, data: { discoveryStatus: "running" } }),
    ]);

    const started = performance.now();
    try {
      const headers = await credentialHeaders(db, this.deps.secrets, server);
      const result = await discover(
        { url: server.baseUrl, transport: server.transport, headers },
        { fetch: this.deps.fetch, timeoutMs: this.deps.timeoutMs, budget: this.deps.budget },
      );
      const finishedAt = new Date();
      const changes = await db.$transaction(
        async (tx) => {
          // One discovery of a server at a time stores its result.
          const [locked] = await tx.$queryRaw<Array<{ lastDiscoveredAt: Date | null }>>`
            SELECT "lastDiscoveredAt" FROM "McpServer" WHERE id = ${server.id}::uuid FOR UPDATE`;
          const organization = await tx.organization.findUnique({
            where: { id: server.organizationId },
            select: { holdNewCapabilitiesForReview: true },
          });
          // The first successful discovery is the baseline; what appears after it waits for review.
          const holdNew = Boolean(locked?.lastDiscoveredAt) && (organization?.holdNewCapabilitiesForReview ?? true);
          const applied = await applyDiscovery(tx, server, result.items, run.id, { holdNew }, finishedAt);
          await emitEvents(tx, changeEvents(server, applied));
          const counts = {
            tools: result.items.filter((i) => i.kind === "tool").length,
            resources: result.items.filter((i) => i.kind === "resource").length,
            resourceTemplates: result.items.filter((i) => i.kind === "resource_template").length,
            prompts: result.items.filter((i) => i.kind === "prompt").length,
            added: applied.filter((c) => c.changeType === "added").length,
            changed: applied.filter((c) => c.changeType === "changed").length,
            removed: applied.filter((c) => c.changeType === "removed").length,
            pages: result.pages,
            transport: result.transport,
            durationMs: Math.round(performance.now() - started),
          };
          await tx.mcpServer.update({
            where: { id: server.id },
            data: {
              discoveryStatus: "succeeded",
              lastDiscoveredAt: finishedAt,
              discoveryError: null,
              serverInfo: (result.serverInfo ?? undefined) as object | undefined,
              protocolVersion: result.protocolVersion,
              serverCapabilities: (result.capabilities ?? undefined) as object | undefined,
              instructions: result.instructions,
            },
          });
          await tx.discoveryRun.update({
            where: { id: run.id },
            data: { status: "succeeded", error: null, summary: counts, finishedAt },
          });
          // Metered with the run it measures: exactly one event per finished run, none lost.
          await tx.usageEvent.create({ data: discoveryUsage(run, counts.durationMs, true, finishedAt) });
          await recordChange(tx, SYSTEM_SOURCE, {
            organizationId: server.organizationId,
            type: "discovery.completed",
            targetType: "mcp_server",
            targetId: server.id,
            data: { runId: run.id, ...counts },
            payload: { serverId: server.id, runId: run.id, ...counts },
          });
          return { applied, counts };
        },
        { timeout: 60_000, maxWait: 10_000 },
      );
      log.info(changes.counts, "discovery succeeded");
      await this.deps.outputs
        .write("discovery-results", `${server.id}.json`, {
          serverId: server.id,
          runId: run.id,
          finishedAt,
          serverInfo: result.serverInfo,
          protocolVersion: result.protocolVersion,
          capabilities: result.capabilities,
          summary: changes.counts,
          changes: changes.applied,
          items: result.items.map((i) => ({ kind: i.kind, name: i.name, definitionHash: i.definitionHash })),
        })
        .catch((err: unknown) => log.warn({ err }, "could not write the discovery result file"));
    } catch (err) {
      const error = describeRemoteError(err);
      if (!job.finalAttempt && !isFinal(err)) {
        await db.discoveryRun.update({ where: { id: run.id }, data: { status: "pending", error } });
        log.warn({ error }, "discovery attempt failed; it will be retried");
        throw err;
      }
      log.warn({ error }, "discovery failed");
      const finishedAt = new Date();
      await db.$transaction(async (tx) => {
        await tx.discoveryRun.update({ where: { id: run.id }, data: { status: "failed", error, finishedAt } });
        await tx.usageEvent.create({
          data: discoveryUsage(run, Math.round(performance.now() - started), false, finishedAt),
        });
        await tx.mcpServer.update({
          where: { id: server.id },
          data: { discoveryStatus: "failed", discoveryError: error },
        });
        await recordChange(tx, SYSTEM_SOURCE, {
          organizationId: server.organizationId,
          type: "discovery.failed",
          targetType: "mcp_server",
          targetId: server.id,
          data: { runId: run.id, error },
          payload: { serverId: server.id, runId: run.id, error },
        });
      });
      await this.deps.outputs
        .write("discovery-results", `${server.id}.json`, { serverId: server.id, runId: run.id, finishedAt, error })
        .catch(() => undefined);
    }
  }
}

/** The usage event of a finished discovery run (kind `discovery.run`), attributed to who asked for it. */
function discoveryUsage(
  run: { organizationId: string; serverId: string; requestedByUserId: string | null; trigger: string; id: string },
  durationMs: number,
  success: boolean,
  occurredAt: Date,
) {
  return {
    organizationId: run.organizationId,
    userId: run.requestedByUserId,
    serverId: run.serverId,
    kind: "discovery.run" satisfies UsageKind,
    durationMs,
    success,
    metadata: { runId: run.id, trigger: run.trigger },
    occurredAt,
  };
}

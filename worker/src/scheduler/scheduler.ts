import {
  type AuditAnchor,
  anchorAuditHeads,
  checkBudgets,
  dailyUsageReport,
  type KeyRing,
  type Logger,
  lastFinalUsageDay,
  type Outputs,
  type PrismaClient,
  type Redis,
  rollUpUsage,
  type WorkerEnv,
} from "@sprintconnect/core";
import { discoveryJob, healthCheckJob, type JobQueues, requestDiscovery } from "@sprintconnect/jobs";
import { Cron } from "croner";
import { LeaderLock } from "./leader-lock";
import { applyRetention } from "./retention";

/** A pending run older than this has probably lost its job (a queue outage): queue it again. */
const STALE_PENDING_MS = 2 * 60_000;
const PAGE = 500;
const DAY_MS = 86_400_000;
/** Final days looked at on each run: a scheduler that was down this long still writes their reports. */
const USAGE_ANALYTICS_DAYS = 3;
/** Redis key prefix marking a day's usage-analytics report as written; kept past the window above. */
export const USAGE_ANALYTICS_KEY = "sprintconnect:usage-analytics:";
const USAGE_ANALYTICS_KEY_TTL_SECONDS = (USAGE_ANALYTICS_DAYS + 2) * 86_400;

/**
 * The scheduler: croner schedules that enqueue jobs. Any number may run; only the holder of
 * the Redis leader lock enqueues, so each server is checked once per interval.
 */
export class Scheduler {
  private readonly lock: LeaderLock;
  private readonly crons: Cron[] = [];
  private leader = false;
  /** Set when Redis came back: what it held (queued jobs) may be gone. */
  private redisReturned = false;
  private readonly onRedisReady = () => {
    this.redisReturned = true;
    void this.elect().catch((err: unknown) => this.failed("recovery", err));
  };

  constructor(
    private readonly deps: {
      db: PrismaClient;
      redis: Redis;
      queues: JobQueues;
      env: WorkerEnv;
      logger: Logger;
      /** Signs the audit anchors. */
      keys: KeyRing;
      /** Where the daily usage-analytics reports go. Default: not written. */
      outputs?: Outputs;
    },
  ) {
    this.lock = new LeaderLock(
      deps.redis,
      "sprintconnect:scheduler:leader",
      deps.env.SCHEDULER_LOCK_TTL_SECONDS * 1000,
    );
  }

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    const { env } = this.deps;
    const every = (seconds: number, name: string, task: () => Promise<void>) =>
      new Cron("* * * * * *", { interval: seconds, protect: true, name, catch: (err) => this.failed(name, err) }, task);
    this.crons.push(
      every(Math.max(1, Math.floor(env.SCHEDULER_LOCK_TTL_SECONDS / 3)), "leadership", () => this.elect()),
      every(env.HEALTH_CHECK_INTERVAL_SECONDS, "health-checks", () => this.leading(() => this.enqueueHealthChecks())),
      every(60, "discoveries", () => this.leading(() => this.enqueueDiscoveries())),
      every(3600, "retention", () => this.leading(() => this.retention())),
      every(env.USAGE_ROLLUP_INTERVAL_SECONDS, "usage-rollup", () => this.leading(() => this.rollUpUsage())),
      every(env.BUDGET_CHECK_INTERVAL_SECONDS, "budgets", () => this.leading(() => this.checkBudgets())),
      every(env.AUDIT_ANCHOR_INTERVAL_SECONDS, "audit-anchors", () => this.leading(() => this.anchorAuditLogs())),
    );
    // ioredis emits `ready` on every (re)connection; a restarted Redis may have lost every job.
    this.deps.redis.on("ready", this.onRedisReady);
    void this.elect().catch((err: unknown) => this.failed("leadership", err));
  }

  async stop(): Promise<void> {
    this.deps.redis.off("ready", this.onRedisReady);
    for (const cron of this.crons) cron.stop();
    if (this.leader) await this.lock.release().catch(() => undefined);
    this.leader = false;
  }

  private failed(name: string, err: unknown): void {
    this.deps.logger.error({ err, task: name }, "scheduled task failed");
  }

  /**
   * Takes or keeps leadership. A new leader, or the leader after Redis came back, queues again
   * from PostgreSQL what Redis may have lost: every pending discovery run and this slot's
   * health checks (job ids make this a no-op for jobs Redis still holds).
   */
  private async elect(): Promise<void> {
    const was = this.leader;
    this.leader = await this.lock.acquire().catch(() => false);
    if (this.leader !== was) this.deps.logger.info({ leader: this.leader, id: this.lock.id }, "scheduler leadership");
    if (this.leader && (!was || this.redisReturned)) {
      this.redisReturned = false;
      try {
        const requeued = await this.requeuePendingDiscoveries(0);
        const checks = await this.enqueueHealthChecks();
        this.deps.logger.info({ requeued, checks }, "queued again what Redis may have lost");
      } catch (err) {
        this.redisReturned = true; // the next election tries again
        throw err;
      }
    }
  }

  private async leading(task: () => Promise<unknown>): Promise<void> {
    if (this.leader) await task();
  }

  /** Deletes old raw health results, old published events, ended logins and old rolled-up usage events (hourly). */
  async retention(): Promise<void> {
    const deleted = await applyRetention(this.deps.db, {
      healthChecksDays: this.deps.env.RETENTION_HEALTH_CHECKS_DAYS,
      eventsDays: this.deps.env.RETENTION_EVENTS_DAYS,
      usageEventsDays: this.deps.env.RETENTION_USAGE_EVENTS_DAYS,
    });
    if (deleted.healthChecks + deleted.events + deleted.refreshFamilies + deleted.usageEvents > 0) {
      this.deps.logger.info(deleted, "retention applied");
    }
  }

  /** Records (and announces) the budget thresholds organizations crossed this month. */
  async checkBudgets(): Promise<void> {
    const raised = await checkBudgets(this.deps.db);
    if (raised > 0) this.deps.logger.info({ raised }, "budget thresholds crossed");
  }

  /** Rolls the usage events of the hours that ended into hourly and daily totals. */
  async rollUpUsage(): Promise<void> {
    const { hours, rolledUntil } = await rollUpUsage(this.deps.db);
    if (hours > 0) this.deps.logger.debug({ hours, rolledUntil }, "usage rolled up");
    await this.writeUsageAnalytics();
  }

  /**
   * Writes `usage-analytics/<day>.json` (and its S3 copy) for each of the last
   * USAGE_ANALYTICS_DAYS UTC days whose rollup is final and that no scheduler has written yet
   * (a Redis key per day, so a new leader does not write them again). Returns the files written.
   */
  async writeUsageAnalytics(): Promise<string[]> {
    const { db, redis, outputs, logger } = this.deps;
    const last = outputs ? await lastFinalUsageDay(db) : null;
    if (!outputs || !last) return [];
    const written: string[] = [];
    for (let back = USAGE_ANALYTICS_DAYS - 1; back >= 0; back--) {
      const day = new Date(last.getTime() - back * DAY_MS);
      const name = day.toISOString().slice(0, 10);
      const key = `${USAGE_ANALYTICS_KEY}${name}`;
      if ((await redis.set(key, "1", "EX", USAGE_ANALYTICS_KEY_TTL_SECONDS, "NX")) !== "OK") continue;
      try {
        written.push(await outputs.write("usage-analytics", `${name}.json`, await dailyUsageReport(db, day)));
      } catch (err) {
        await redis.del(key); // the next run tries again
        throw err;
      }
    }
    if (written.length > 0) logger.info({ files: written }, "usage analytics written");
    return written;
  }

  /**
   * Signs and stores an anchor of every audit log that grew. Each anchor is also logged, so a
   * copy lives outside the database. A log that no longer extends its newest anchor (its newest
   * entries were cut off) is never anchored again: it is logged as an error.
   */
  async anchorAuditLogs(): Promise<AuditAnchor[]> {
    const anchored: AuditAnchor[] = [];
    for (const outcome of await anchorAuditHeads(this.deps.db, this.deps.keys)) {
      if (outcome.status === "anchored") {
        const { organizationId, seq, hash, signedAt, keyId, signature } = outcome.anchor;
        this.deps.logger.info(
          { organizationId, seq: seq.toString(), hash, signedAt, keyId, signature },
          "audit log anchored",
        );
        anchored.push(outcome.anchor);
      } else if (outcome.status === "refused") {
        this.deps.logger.error(
          { organizationId: outcome.organizationId, firstBadSeq: outcome.firstBadSeq, reason: outcome.reason },
          "audit log no longer matches its anchor: not anchored",
        );
      }
    }
    return anchored;
  }

  /** One health-check job per active server and interval slot (the slot is in the job id). */
  async enqueueHealthChecks(): Promise<number> {
    const slot = Math.floor(Date.now() / (this.deps.env.HEALTH_CHECK_INTERVAL_SECONDS * 1000));
    let count = 0;
    for await (const servers of this.activeServers()) {
      // One pipelined batch per page instead of a round trip per server.
      await this.deps.queues.enqueueAll(
        healthCheckJob,
        servers.map((s) => ({
          payload: { serverId: s.id, organizationId: s.organizationId },
          jobId: `${s.id}:${slot}`,
        })),
      );
      count += servers.length;
    }
    return count;
  }

  /** Discovery for servers whose last one is older than the interval; re-queues lost runs. */
  async enqueueDiscoveries(): Promise<number> {
    const { db, queues, env } = this.deps;
    const due = new Date(Date.now() - env.DISCOVERY_INTERVAL_SECONDS * 1000);
    let count = 0;
    for await (const servers of this.activeServers({
      discoveryStatus: { notIn: ["pending", "running"] },
      OR: [{ lastDiscoveredAt: null }, { lastDiscoveredAt: { lt: due } }],
    })) {
      for (const s of servers) {
        await requestDiscovery(db, queues, { organizationId: s.organizationId, serverId: s.id, trigger: "schedule" });
        count += 1;
      }
    }
    await this.requeuePendingDiscoveries(STALE_PENDING_MS);
    return count;
  }

  /**
   * Queues again the pending discovery runs older than `olderThanMs` (the run id is the job id,
   * so a job Redis still holds is not duplicated). Returns how many it queued.
   */
  async requeuePendingDiscoveries(olderThanMs: number): Promise<number> {
    const { db, queues } = this.deps;
    const before = new Date(Date.now() - olderThanMs);
    let count = 0;
    let after: string | undefined;
    for (;;) {
      const runs = await db.discoveryRun.findMany({
        where: { status: "pending", createdAt: { lte: before }, ...(after ? { id: { gt: after } } : {}) },
        select: { id: true, serverId: true, organizationId: true },
        orderBy: { id: "asc" },
        take: PAGE,
      });
      await queues.enqueueAll(
        discoveryJob,
        runs.map((run) => ({
          payload: { runId: run.id, serverId: run.serverId, organizationId: run.organizationId },
          jobId: run.id,
        })),
      );
      count += runs.length;
      if (runs.length < PAGE) return count;
      after = runs[runs.length - 1]?.id;
    }
  }

  private async *activeServers(extra: object = {}) {
    let after: string | undefined;
    for (;;) {
      const page = await this.deps.db.mcpServer.findMany({
        where: { deletedAt: null, status: "active", ...extra, ...(after ? { id: { gt: after } } : {}) },
        select: { id: true, organizationId: true },
        orderBy: { id: "asc" },
        take: PAGE,
      });
      if (page.length === 0) return;
      yield page;
      after = page[page.length - 1]?.id;
    }
  }
}

import { randomBytes } from "node:crypto";
import { createLogger, createRedis, type Redis } from "@sprintconnect/core";
import { healthCheckJob } from "@sprintconnect/jobs";
import { applyRetention, LeaderLock, Scheduler } from "@sprintconnect/worker";
import { TEST_REDIS_URL } from "./support/env";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack } from "./support/stack";

let stack: Stack;
let redis: Redis;

beforeAll(async () => {
  stack = await startStack();
  redis = createRedis(TEST_REDIS_URL, "scheduler-test");
});
afterAll(async () => {
  redis.disconnect();
  await stack.close();
});

describe("the scheduler's leader lock", () => {
  it("lets exactly one of several instances lead, and another take over when the leader stops", async () => {
    const key = `sc:test:leader:${randomBytes(4).toString("hex")}`;
    const a = new LeaderLock(redis, key, 500);
    const b = new LeaderLock(redis, key, 500);
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    expect(await a.acquire()).toBe(true); // renewal keeps it
    expect(await b.acquire()).toBe(false);
    await a.release();
    expect(await b.acquire()).toBe(true);
    expect(await a.acquire()).toBe(false);
    // A leader that stops renewing (crashed) loses the lock when the TTL runs out.
    await new Promise((r) => setTimeout(r, 700));
    expect(await a.acquire()).toBe(true);
  });
});

describe("scheduled health checks", () => {
  it("queue one check per active server and interval, however often the sweep runs", async () => {
    const org = await createTestOrg(stack, "Scheduled");
    const ids: string[] = [];
    for (const name of ["one", "two"]) {
      const res = await request(stack.url, "POST", "/v1/mcp/servers", {
        auth: org.ownerKey,
        body: { name, baseUrl: "https://scheduled.example.com/mcp" },
      });
      ids.push(res.body.id);
    }
    await request(stack.url, "PATCH", `/v1/mcp/servers/${ids[1]}`, {
      auth: org.ownerKey,
      body: { status: "inactive" },
    });
    const scheduler = new Scheduler({
      db: stack.db,
      redis,
      queues: stack.queues,
      env: { ...stack.workerEnv, HEALTH_CHECK_INTERVAL_SECONDS: 3600 },
      logger: createLogger("test", "silent"),
      keys: stack.keys,
    });
    await scheduler.enqueueHealthChecks();
    await scheduler.enqueueHealthChecks();
    // The job id is the server and the interval slot: a second sweep in the slot adds nothing.
    const slot = Math.floor(Date.now() / 3_600_000);
    const queue = stack.queues.queue(healthCheckJob);
    const active = await queue.getJob(`${ids[0]}:${slot}`);
    expect(active?.data).toEqual({ serverId: ids[0], organizationId: org.organizationId });
    expect(await queue.getJob(`${ids[1]}:${slot}`)).toBeNull();
    const waiting = await queue.getJobs("waiting", { start: 0, end: 100_000 });
    expect(waiting.filter((j) => j.id === `${ids[0]}:${slot}`)).toHaveLength(1);
  });
});

describe("retention", () => {
  it("deletes old raw health results and old published events, never unpublished ones", async () => {
    const org = await createTestOrg(stack, "Retained");
    const server = (
      await request(stack.url, "POST", "/v1/mcp/servers", {
        auth: org.ownerKey,
        body: { name: "kept", baseUrl: "https://retained.example.com/mcp" },
      })
    ).body;
    // The real clock: rows of tests running now are recent and stay; only these backdated ones age out.
    const now = new Date();
    const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);
    await stack.db.healthCheck.createMany({
      data: [10, 8, 6, 1].map((d) => ({
        organizationId: org.organizationId,
        serverId: server.id,
        result: "healthy" as const,
        checkedAt: daysAgo(d),
      })),
    });
    const marker = `retention-${Date.now()}`;
    await stack.db.event.createMany({
      data: [
        {
          organizationId: org.organizationId,
          type: "server.updated",
          aggregateId: null,
          payload: { marker, k: "old published" },
          createdAt: daysAgo(9),
          publishedAt: daysAgo(9),
        },
        {
          organizationId: org.organizationId,
          type: "server.updated",
          aggregateId: null,
          payload: { marker, k: "recent published" },
          createdAt: daysAgo(2),
          publishedAt: daysAgo(2),
        },
        {
          organizationId: org.organizationId,
          type: "server.updated",
          aggregateId: null,
          payload: { marker, k: "old unpublished" },
          createdAt: daysAgo(9),
          publishedAt: null,
        },
      ],
    });
    await applyRetention(stack.db, { healthChecksDays: 7, eventsDays: 7, usageEventsDays: 90 }, now);
    const left = await stack.db.healthCheck.findMany({ where: { serverId: server.id }, orderBy: { checkedAt: "asc" } });
    expect(left.map((h) => h.checkedAt.toISOString())).toEqual([daysAgo(6), daysAgo(1)].map((d) => d.toISOString()));
    const events = await stack.db.event.findMany({ where: { payload: { path: ["marker"], equals: marker } } });
    expect(events.map((e) => (e.payload as { k: string }).k).sort()).toEqual(["old unpublished", "recent published"]);
  });

  // --- OIDC login (issue 9) ---
  it("deletes logins (refresh token families) past their end, with their tokens, and keeps the others", async () => {
    const org = await createTestOrg(stack, "Logins");
    const now = new Date();
    const family = (expiresAt: Date, hash: string) =>
      stack.db.refreshTokenFamily.create({
        data: {
          userId: org.ownerId,
          organizationId: org.organizationId,
          expiresAt,
          tokens: { create: { hash, expiresAt } },
        },
      });
    const ended = await family(new Date(now.getTime() - 1000), `ended-${now.getTime()}`);
    const live = await family(new Date(now.getTime() + 3_600_000), `live-${now.getTime()}`);
    await applyRetention(stack.db, { healthChecksDays: 7, eventsDays: 7, usageEventsDays: 90 }, now);
    const left = await stack.db.refreshTokenFamily.findMany({ where: { userId: org.ownerId }, select: { id: true } });
    expect(left.map((f) => f.id)).toEqual([live.id]);
    expect(await stack.db.refreshToken.count({ where: { familyId: ended.id } })).toBe(0);
  });
  // --- end OIDC login ---
});

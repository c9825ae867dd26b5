import { randomUUID } from "node:crypto";
import { createLogger, createRedis, EVENTS_CHANNEL, type Redis, redisChannel } from "@sprintconnect/core";
import { Scheduler } from "@sprintconnect/worker";
import type { Client } from "graphql-ws";
import { type ChangingFixture, type SlowFixture, startFixture } from "./fixtures/mcp";
import { request } from "./support/http";
import { freshDatabase, type OwnRedis, startOwnRedis } from "./support/own-services";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";
import { connectWs, subscribeLive } from "./support/ws";

const SUBSCRIPTION = `subscription {
  capabilityChanges { eventId serverId changeType name kind }
}`;

// The drill restarts Redis and runs a scheduler over every server, so the stack has a Redis
// and a database of its own: other test files' rows and queues are never touched.
let redisServer: OwnRedis;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let stack: Stack;
let schedulerRedis: Redis;
let scheduler: Scheduler;
let org: TestOrg;
let busy: SlowFixture;
let queued: ChangingFixture;
let later: ChangingFixture;
let client: Client;

beforeAll(async () => {
  redisServer = await startOwnRedis();
  database = await freshDatabase("redis_drill");
  stack = await startStack(
    {
      DATABASE_URL: database.url,
      REDIS_URL: redisServer.url(),
      // One discovery at a time, so a busy one keeps the next one waiting in Redis.
      WORKER_DISCOVERY_CONCURRENCY: "1",
      HEALTH_CHECK_INTERVAL_SECONDS: "1",
    },
    { worker: true },
  );
  schedulerRedis = createRedis(redisServer.url(), "drill-scheduler");
  scheduler = new Scheduler({
    db: stack.db,
    redis: schedulerRedis,
    queues: stack.queues,
    env: stack.workerEnv,
    logger: createLogger("scheduler", "silent"),
    keys: stack.keys,
  });
  scheduler.start();
  org = await createTestOrg(stack, "Drill");
  busy = await startFixture("slow", { delayMs: 0, tools: 40, pageSize: 5 });
  queued = await startFixture("changing");
  later = await startFixture("changing");
}, 60_000);

afterAll(async () => {
  await Promise.resolve(client?.dispose()).catch(() => undefined);
  await scheduler?.stop();
  schedulerRedis?.disconnect();
  await stack?.close();
  await Promise.all([busy?.close(), queued?.close(), later?.close()]);
  await redisServer?.stop();
  await database?.drop();
});

/** A capability event of this organization, as the outbox relay would publish it. */
const probe = (id: string) =>
  stack.redis.publish(
    redisChannel(stack.redis, EVENTS_CHANNEL),
    JSON.stringify({
      id,
      organizationId: org.organizationId,
      type: "capability.added",
      aggregateId: null,
      payload: {
        serverId: randomUUID(),
        serverName: "probe",
        environment: "development",
        tags: [],
        capabilityId: randomUUID(),
        name: "probe",
        kind: "tool",
        changeType: "ADDED",
        definitionHash: null,
        previousHash: null,
        reviewRequired: false,
      },
      createdAt: new Date().toISOString(),
    }),
  );

async function register(name: string, baseUrl: string): Promise<string> {
  const res = await request(stack.url, "POST", "/v1/mcp/servers", { auth: org.ownerKey, body: { name, baseUrl } });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

const runOf = (serverId: string) => stack.db.discoveryRun.findFirstOrThrow({ where: { serverId } });

describe("a Redis restart under a running stack", () => {
  it("loses no background work: queued discoveries run, new servers are discovered, events and health checks flow again", async () => {
    client = connectWs(stack.url, org.ownerKey);
    const probes = new Set<string>();
    const feed = await subscribeLive(client, SUBSCRIPTION, {}, probe, probes);

    // The only discovery slot is taken by a slow server; the next server's job waits in Redis.
    busy.setDelay(1_500);
    const busyId = await register("busy", busy.url);
    await waitFor("the busy discovery to run", async () => (await runOf(busyId)).status === "running");
    const queuedId = await register("queued", queued.url);
    expect((await runOf(queuedId)).status).toBe("pending");

    // Redis without persistence restarts empty: the waiting job, the scripts, the leader key are gone.
    await redisServer.restart();
    const restartedAt = new Date();

    // The subscriber is back on the channel (a probe published after the restart arrives).
    const mine = new Set<string>();
    await waitFor(
      "the feed to be live again",
      async () => {
        if (feed.items.some((i) => mine.has(i?.eventId))) return true;
        const id = randomUUID();
        mine.add(id);
        probes.add(id);
        await probe(id).catch(() => undefined);
        return undefined;
      },
      20_000,
      200,
    );
    busy.setDelay(0);
    const laterId = await register("later", later.url);

    // Both are discovered and their capability events reach the subscriber, well before the
    // scheduler's two-minute sweep for stale pending runs could have queued them.
    for (const serverId of [queuedId, laterId]) {
      await waitFor(
        "the discovery after the restart",
        async () => (await runOf(serverId)).status === "succeeded",
        45_000,
        200,
      );
    }
    const stored = await stack.db.mcpCapability.count({ where: { serverId: { in: [queuedId, laterId] } } });
    expect(stored).toBeGreaterThan(0);
    await waitFor(
      "their capability events",
      async () => feed.events().filter((e) => e.serverId === queuedId || e.serverId === laterId).length === stored,
      15_000,
    );
    const received = feed.events().filter((e) => e.serverId === queuedId || e.serverId === laterId);
    expect(new Set(received.map((e) => e.changeType))).toEqual(new Set(["ADDED"]));
    expect(received.filter((e) => e.serverId === queuedId)).toHaveLength(stored / 2);
    expect(feed.errors).toEqual([]);

    // Health checks resume: a check of a server registered before the restart, run after it.
    await waitFor(
      "a health check after the restart",
      async () =>
        (await stack.db.healthCheck.count({ where: { serverId: queuedId, checkedAt: { gt: restartedAt } } })) > 0,
      15_000,
      200,
    );
  }, 120_000);
});

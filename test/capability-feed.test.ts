import { randomUUID } from "node:crypto";
import { EVENTS_CHANNEL, redisChannel } from "@sprintconnect/core";
import { healthCheckJob } from "@sprintconnect/jobs";
import type { Client } from "graphql-ws";
import { type ChangingFixture, type FailingFixture, startFixture } from "./fixtures/mcp";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";
import { connectWs, subscribeLive } from "./support/ws";

const SUBSCRIPTION = `subscription($filter: CapabilityChangeFilter) {
  capabilityChanges(filter: $filter) { eventId serverId serverName changeType id name kind reviewRequired occurredAt }
}`;

let stack: Stack;
let org: TestOrg;
let other: TestOrg;
let changing: ChangingFixture;
const clients: Client[] = [];

beforeAll(async () => {
  stack = await startStack({}, { worker: true });
  org = await createTestOrg(stack, "Feed");
  other = await createTestOrg(stack, "Elsewhere");
  changing = await startFixture("changing");
});
afterAll(async () => {
  for (const client of clients) await Promise.resolve(client.dispose()).catch(() => undefined);
  await stack.close();
  await changing.close();
});

/** Publishes an event as the outbox relay would (probes that make subscriptions live). */
function publish(id: string, organizationId: string, type: string, payload: Record<string, unknown>) {
  return stack.redis.publish(
    redisChannel(stack.redis, EVENTS_CHANNEL),
    JSON.stringify({ id, organizationId, type, aggregateId: null, payload, createdAt: new Date().toISOString() }),
  );
}

/** A capability event for `serverId` that every filter of these tests matches. */
const capabilityProbe = (organizationId: string, serverId: string) => (id: string) =>
  publish(id, organizationId, "capability.added", {
    serverId,
    serverName: "probe",
    environment: "development",
    tags: ["feed"],
    capabilityId: randomUUID(),
    name: "probe",
    kind: "tool",
    changeType: "ADDED",
    definitionHash: null,
    previousHash: null,
    reviewRequired: false,
  });

describe("the capability change feed", () => {
  it("delivers a rediscovered server's ADDED, CHANGED and REMOVED capabilities to subscribers of its organization only", async () => {
    const server = (
      await request(stack.url, "POST", "/v1/mcp/servers", {
        auth: org.ownerKey,
        body: { name: "feed", baseUrl: changing.url, tags: ["feed"] },
      })
    ).body;
    await waitFor("the first discovery", async () => {
      const s = await stack.db.mcpServer.findUniqueOrThrow({ where: { id: server.id } });
      return s.discoveryStatus === "succeeded";
    });
    // …and its events published, so the subscribers below see only the second discovery's.
    await waitFor("the first discovery's events to be published", async () =>
      (await stack.db.event.count({ where: { organizationId: org.organizationId, publishedAt: null } })) === 0
        ? true
        : undefined,
    );

    const mineClient = connectWs(stack.url, org.ownerKey);
    const theirsClient = connectWs(stack.url, other.ownerKey);
    clients.push(mineClient, theirsClient);
    const probes = new Set<string>();
    const mineProbe = capabilityProbe(org.organizationId, server.id);
    const mine = await subscribeLive(mineClient, SUBSCRIPTION, { filter: { serverId: server.id } }, mineProbe, probes);
    const byTag = await subscribeLive(
      mineClient,
      SUBSCRIPTION,
      { filter: { tag: "feed", kind: "tool" } },
      mineProbe,
      probes,
    );
    const theirs = await subscribeLive(
      theirsClient,
      SUBSCRIPTION,
      {},
      capabilityProbe(other.organizationId, randomUUID()),
      probes,
    );

    changing.setTools([
      {
        name: "alpha",
        description: "First tool.",
        inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
      },
      { name: "beta", description: "Quietly rewritten" },
      { name: "delta", description: "Brand new" },
    ]);
    const res = await request(stack.url, "POST", `/v1/mcp/servers/${server.id}/discover`, { auth: org.ownerKey });
    expect(res.status).toBe(202);

    await waitFor("three changes", async () => mine.events().length >= 3, 15_000);
    const changes = mine
      .events()
      .map((i) => `${i.changeType}:${i.kind}:${i.name}`)
      .sort();
    expect(changes).toEqual(["ADDED:tool:delta", "CHANGED:tool:beta", "REMOVED:tool:gamma"]);
    for (const item of mine.events()) {
      expect(item).toMatchObject({ serverId: server.id, serverName: "feed" });
      expect(item.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(mine.events().find((i) => i.name === "beta").reviewRequired).toBe(true);
    const stored = await stack.db.mcpCapability.findFirstOrThrow({ where: { serverId: server.id, name: "delta" } });
    expect(mine.events().find((i) => i.name === "delta").id).toBe(stored.id);

    await waitFor(
      "the tag-filtered feed",
      async () => byTag.events().filter((i) => i.serverId === server.id).length >= 3,
    );
    // Give a stray delivery time to arrive before asserting that none did.
    await new Promise((r) => setTimeout(r, 300));
    expect(theirs.events().filter((i) => i.serverId === server.id)).toEqual([]);
    expect(mine.errors).toEqual([]);
  });
});

describe("the health change feed", () => {
  it("delivers a server's health transitions, as the worker decides them, to its organization's subscribers", async () => {
    const flaky = (await startFixture("failing", { mode: "http500" })) as FailingFixture;
    try {
      flaky.setMode("ok");
      const server = (
        await request(stack.url, "POST", "/v1/mcp/servers", {
          auth: org.ownerKey,
          body: { name: "health-feed", baseUrl: flaky.url },
        })
      ).body;
      const client = connectWs(stack.url, org.ownerKey);
      clients.push(client);
      const feed = await subscribeLive(
        client,
        `subscription($filter: ServerHealthChangeFilter) {
          serverHealthChanges(filter: $filter) { eventId serverId serverName previousStatus status latencyMs checkedAt reason }
        }`,
        { filter: { serverId: server.id } },
        (id) =>
          publish(id, org.organizationId, "server.health_changed", {
            serverId: server.id,
            serverName: "health-feed",
            environment: "development",
            tags: [],
            previousStatus: "unknown",
            status: "unknown",
            latencyMs: null,
            checkedAt: new Date().toISOString(),
            reason: "probe",
          }),
      );
      const real = () => feed.events();
      const check = () =>
        stack.queues.enqueue(
          healthCheckJob,
          { serverId: server.id, organizationId: org.organizationId },
          { jobId: randomUUID() },
        );

      await check();
      await waitFor("healthy", async () => real().length >= 1);
      flaky.setMode("reset");
      for (let i = 0; i < stack.workerEnv.HEALTH_CHECK_FAILURE_THRESHOLD; i++) {
        const before = await stack.db.healthCheck.count({ where: { serverId: server.id } });
        await check();
        await waitFor(
          "the check",
          async () => (await stack.db.healthCheck.count({ where: { serverId: server.id } })) > before,
        );
      }
      await waitFor("unhealthy", async () => real().length >= 2);
      expect(real().map((i) => [i.previousStatus, i.status])).toEqual([
        ["unknown", "healthy"],
        ["healthy", "unhealthy"],
      ]);
      expect(real()[1]).toMatchObject({ serverId: server.id, serverName: "health-feed", latencyMs: null });
      expect(real()[1].reason).toEqual(expect.any(String));
    } finally {
      await flaky.close();
    }
  });
});

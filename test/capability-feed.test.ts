import { randomUUID } from "node:crypto";
import { EVENTS_CHANNEL } from "@sprintconnect/core";
import { healthCheckJob } from "@sprintconnect/jobs";
import type { Client } from "graphql-ws";
import { type ChangingFixture, type FailingFixture, startFixture } from "./fixtures/mcp";
import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";
import { type Collected, collect, connectWs } from "./support/ws";

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

/**
 * Redis pub/sub keeps nothing and graphql-ws does not acknowledge a subscription, so publish a
 * probe for the subscriber's organization until it arrives: from then on, nothing is missed.
 */
async function subscribed(feed: Collected, organizationId: string): Promise<void> {
  const probe = randomUUID();
  await waitFor("the subscription to be live", async () => {
    await stack.redis.publish(
      EVENTS_CHANNEL,
      JSON.stringify({
        id: randomUUID(),
        organizationId,
        type: "capability.added",
        aggregateId: probe,
        payload: {
          serverId: probe,
          serverName: "probe",
          environment: "development",
          tags: ["feed"],
          capabilityId: probe,
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
    await new Promise((r) => setTimeout(r, 50));
    return feed.items.some((i) => i.serverId === probe);
  });
}

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

    const mineClient = connectWs(stack.url, org.ownerKey);
    const theirsClient = connectWs(stack.url, other.ownerKey);
    clients.push(mineClient, theirsClient);
    const mine = collect(mineClient, SUBSCRIPTION, { filter: { serverId: server.id } });
    const byTag = collect(mineClient, SUBSCRIPTION, { filter: { tag: "feed", kind: "tool" } });
    const theirs = collect(theirsClient, SUBSCRIPTION, {});
    await subscribed(byTag, org.organizationId);
    await subscribed(theirs, other.organizationId);
    // `mine` filters on the real server id; it shares byTag's connection and was subscribed first.

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

    await waitFor("three changes", async () => mine.items.length >= 3, 15_000);
    const changes = mine.items.map((i) => `${i.changeType}:${i.kind}:${i.name}`).sort();
    expect(changes).toEqual(["ADDED:tool:delta", "CHANGED:tool:beta", "REMOVED:tool:gamma"]);
    for (const item of mine.items) {
      expect(item).toMatchObject({ serverId: server.id, serverName: "feed" });
      expect(item.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(mine.items.find((i) => i.name === "beta").reviewRequired).toBe(true);
    const stored = await stack.db.mcpCapability.findFirstOrThrow({ where: { serverId: server.id, name: "delta" } });
    expect(mine.items.find((i) => i.name === "delta").id).toBe(stored.id);

    await waitFor("the tag-filtered feed", async () => byTag.items.filter((i) => i.serverId === server.id).length >= 3);
    // Give a stray delivery time to arrive before asserting that none did.
    await new Promise((r) => setTimeout(r, 300));
    expect(theirs.items.filter((i) => i.serverId === server.id)).toEqual([]);
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
      const feed = collect(
        client,
        `subscription($filter: ServerHealthChangeFilter) {
          serverHealthChanges(filter: $filter) { eventId serverId serverName previousStatus status latencyMs checkedAt reason }
        }`,
        { filter: { serverId: server.id } },
      );
      // Probe with a health event for this server until the subscription is live.
      const probes = new Set<string>();
      await waitFor("the health subscription to be live", async () => {
        const id = randomUUID();
        probes.add(id);
        await stack.redis.publish(
          EVENTS_CHANNEL,
          JSON.stringify({
            id,
            organizationId: org.organizationId,
            type: "server.health_changed",
            aggregateId: server.id,
            payload: {
              serverId: server.id,
              serverName: "health-feed",
              environment: "development",
              tags: [],
              previousStatus: "unknown",
              status: "unknown",
              latencyMs: null,
              checkedAt: new Date().toISOString(),
              reason: "probe",
            },
            createdAt: new Date().toISOString(),
          }),
        );
        await new Promise((r) => setTimeout(r, 50));
        return feed.items.some((i) => probes.has(i.eventId));
      });
      const real = () => feed.items.filter((i) => !probes.has(i.eventId));
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

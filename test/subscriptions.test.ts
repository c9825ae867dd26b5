import { randomBytes, randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { composeSupergraph } from "@sprintconnect/cli";
import {
  createLogger,
  EVENTS_CHANNEL,
  gatewayEnvSchema,
  InternalTokenVerifier,
  LocalSecretStore,
  parseEnv,
  redisChannel,
} from "@sprintconnect/core";
import { createGatewayApp } from "@sprintconnect/gateway";
import { buildRegistrySchema } from "@sprintconnect/registry-subgraph";
import { createSubgraphApp, RedisEventHub } from "@sprintconnect/subgraph-kit";
import type { FastifyInstance } from "fastify";
import type { Client } from "graphql-ws";
import WebSocket from "ws";
import { TEST_REDIS_URL } from "./support/env";
import { graphql, request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { collect, connectWs, subscribeLive as subscribeLiveVia, wsUrl } from "./support/ws";

const CAPABILITY_FIELDS = `eventId serverId serverName changeType id name kind definitionHash previousHash reviewRequired occurredAt`;
const HEALTH_FIELDS = `eventId serverId serverName previousStatus status latencyMs checkedAt reason`;
const CAPABILITY_SUBSCRIPTION = `subscription($filter: CapabilityChangeFilter) { capabilityChanges(filter: $filter) { ${CAPABILITY_FIELDS} } }`;
const HEALTH_SUBSCRIPTION = `subscription($filter: ServerHealthChangeFilter) { serverHealthChanges(filter: $filter) { ${HEALTH_FIELDS} } }`;

let stack: Stack;
let org: TestOrg;
let other: TestOrg;
let supergraphSdl: string;
const clients: Client[] = [];

beforeAll(async () => {
  // The committed supergraph may predate the subscriptions: compose the current one in process.
  supergraphSdl = (await composeSupergraph()).supergraphSdl;
  stack = await startStack({}, { supergraphSdl });
  org = await createTestOrg(stack, "Subscribers");
  other = await createTestOrg(stack, "Others");
}, 60_000);
afterAll(async () => {
  for (const client of clients) await Promise.resolve(client.dispose()).catch(() => undefined);
  await stack.close();
});

function connect(auth: string, url = stack.url): Client {
  const client = connectWs(url, auth);
  clients.push(client);
  return client;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface EventEnvelope {
  id: string;
  organizationId: string;
  type: string;
  aggregateId: string | null;
  payload: Record<string, unknown>;
  createdAt: string;
}

function capabilityEvent(organizationId: string, payload: Record<string, unknown> = {}, id: string = randomUUID()) {
  const serverId = (payload.serverId as string | undefined) ?? randomUUID();
  const changeType = (payload.changeType as string | undefined) ?? "CHANGED";
  return {
    id,
    organizationId,
    type: `capability.${changeType.toLowerCase()}`,
    aggregateId: serverId,
    payload: {
      serverId,
      serverName: "weather",
      environment: "production",
      tags: ["weather"],
      capabilityId: randomUUID(),
      name: "get_forecast",
      kind: "tool",
      changeType,
      definitionHash: "b".repeat(64),
      previousHash: "a".repeat(64),
      reviewRequired: changeType === "CHANGED",
      ...payload,
    },
    createdAt: new Date().toISOString(),
  } satisfies EventEnvelope;
}

function healthEvent(organizationId: string, payload: Record<string, unknown> = {}, id: string = randomUUID()) {
  const serverId = (payload.serverId as string | undefined) ?? randomUUID();
  return {
    id,
    organizationId,
    type: "server.health_changed",
    aggregateId: serverId,
    payload: {
      serverId,
      serverName: "weather",
      environment: "production",
      tags: ["weather"],
      previousStatus: "healthy",
      status: "degraded",
      latencyMs: 840,
      checkedAt: new Date().toISOString(),
      reason: "slow answer",
      ...payload,
    },
    createdAt: new Date().toISOString(),
  } satisfies EventEnvelope;
}

const publish = (event: EventEnvelope) =>
  stack.redis.publish(redisChannel(stack.redis, EVENTS_CHANNEL), JSON.stringify(event));

/** Every probe published by any test: other live subscriptions of the organization see them too. */
const probes = new Set<string>();

/**
 * Subscribes and waits until the subscription is live end to end: pub/sub keeps nothing, and
 * graphql-ws does not acknowledge a subscription, so probes (events the subscription selects)
 * are published until one arrives. `events()` leaves the probes out.
 */
function subscribeLive(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  probe: (id: string) => EventEnvelope,
) {
  return subscribeLiveVia(client, query, variables, (id) => publish(probe(id)), probes);
}

describe("subscriptions through the gateway", () => {
  it("delivers capability changes with every field", async () => {
    const sub = await subscribeLive(connect(org.ownerKey), CAPABILITY_SUBSCRIPTION, {}, (id) =>
      capabilityEvent(org.organizationId, {}, id),
    );
    const event = capabilityEvent(org.organizationId, { name: "get_alerts", kind: "tool", changeType: "CHANGED" });
    const removed = capabilityEvent(org.organizationId, {
      name: "file:///readme",
      kind: "resource",
      changeType: "REMOVED",
      definitionHash: null,
      previousHash: "c".repeat(64),
      reviewRequired: false,
    });
    await publish(event);
    await publish(removed);
    await waitFor(() => sub.events().length === 2, "two changes");
    expect(sub.events()).toEqual([
      {
        eventId: event.id,
        serverId: event.payload.serverId,
        serverName: "weather",
        changeType: "CHANGED",
        id: event.payload.capabilityId,
        name: "get_alerts",
        kind: "tool",
        definitionHash: "b".repeat(64),
        previousHash: "a".repeat(64),
        reviewRequired: true,
        occurredAt: event.createdAt,
      },
      {
        eventId: removed.id,
        serverId: removed.payload.serverId,
        serverName: "weather",
        changeType: "REMOVED",
        id: removed.payload.capabilityId,
        name: "file:///readme",
        kind: "resource",
        definitionHash: null,
        previousHash: "c".repeat(64),
        reviewRequired: false,
        occurredAt: removed.createdAt,
      },
    ]);
    expect(sub.collected.results.every((r) => r.errors === undefined)).toBe(true);
    sub.stop();
  });

  it("delivers server health changes with every field", async () => {
    const sub = await subscribeLive(connect(org.ownerKey), HEALTH_SUBSCRIPTION, {}, (id) =>
      healthEvent(org.organizationId, {}, id),
    );
    const event = healthEvent(org.organizationId, {
      previousStatus: "healthy",
      status: "unhealthy",
      latencyMs: null,
      reason: "connection refused",
    });
    const recovered = healthEvent(org.organizationId, {
      previousStatus: "auth_required",
      status: "healthy",
      latencyMs: 12,
      reason: null,
    });
    await publish(event);
    await publish(recovered);
    await waitFor(() => sub.events().length === 2, "two health changes");
    expect(sub.events()).toEqual([
      {
        eventId: event.id,
        serverId: event.payload.serverId,
        serverName: "weather",
        previousStatus: "healthy",
        status: "unhealthy",
        latencyMs: null,
        checkedAt: new Date(event.payload.checkedAt).toISOString(),
        reason: "connection refused",
      },
      {
        eventId: recovered.id,
        serverId: recovered.payload.serverId,
        serverName: "weather",
        previousStatus: "auth_required",
        status: "healthy",
        latencyMs: 12,
        checkedAt: new Date(recovered.payload.checkedAt).toISOString(),
        reason: null,
      },
    ]);
    sub.stop();
  });

  it("applies the serverId, tag, environment and kind filters", async () => {
    const s1 = randomUUID();
    const s2 = randomUUID();
    const client = connect(org.ownerKey);
    const all = await subscribeLive(client, CAPABILITY_SUBSCRIPTION, {}, (id) =>
      capabilityEvent(org.organizationId, {}, id),
    );
    const live = (filter: Record<string, unknown>, probe: Record<string, unknown>, query = CAPABILITY_SUBSCRIPTION) =>
      subscribeLive(client, query, { filter }, (id) =>
        query === CAPABILITY_SUBSCRIPTION
          ? capabilityEvent(org.organizationId, probe, id)
          : healthEvent(org.organizationId, probe, id),
      );
    const byServer = await live({ serverId: s1 }, { serverId: s1 });
    const byTag = await live({ tag: "PCI" }, { tags: ["pci"] });
    const byEnvironment = await live({ environment: "staging" }, { environment: "staging" });
    const byKind = await live({ kind: "prompt" }, { kind: "prompt" });
    const combined = await live({ serverId: s2, kind: "resource" }, { serverId: s2, kind: "resource" });
    const healthByTag = await live(
      { tag: "pci", environment: "staging" },
      { tags: ["pci"], environment: "staging" },
      HEALTH_SUBSCRIPTION,
    );

    const e1 = capabilityEvent(org.organizationId, { serverId: s1, tags: ["pci"], environment: "production" });
    const e2 = capabilityEvent(org.organizationId, {
      serverId: s2,
      tags: [],
      environment: "staging",
      kind: "resource",
    });
    const e3 = capabilityEvent(org.organizationId, {
      serverId: s2,
      tags: ["pci", "eu"],
      environment: "staging",
      kind: "prompt",
    });
    const e4 = capabilityEvent(org.organizationId, {
      serverId: s1,
      tags: ["eu"],
      environment: "development",
      kind: "resource_template",
    });
    const h1 = healthEvent(org.organizationId, { tags: ["pci"], environment: "staging" });
    const h2 = healthEvent(org.organizationId, { tags: ["pci"], environment: "production" });
    for (const event of [e1, e2, e3, e4, h1, h2]) await publish(event);
    await waitFor(() => all.events().length === 4, "every capability change on the unfiltered subscription");
    await waitFor(() => healthByTag.events().length === 1, "the health change");
    await sleep(100);

    const ids = (sub: { events(): any[] }) => sub.events().map((e) => e.eventId);
    expect(ids(all)).toEqual([e1.id, e2.id, e3.id, e4.id]);
    expect(ids(byServer)).toEqual([e1.id, e4.id]);
    expect(ids(byTag)).toEqual([e1.id, e3.id]);
    expect(ids(byEnvironment)).toEqual([e2.id, e3.id]);
    expect(ids(byKind)).toEqual([e3.id]);
    expect(ids(combined)).toEqual([e2.id]);
    expect(ids(healthByTag)).toEqual([h1.id]);
  });

  it("never delivers another organization's events", async () => {
    const mine = await subscribeLive(connect(org.ownerKey), CAPABILITY_SUBSCRIPTION, {}, (id) =>
      capabilityEvent(org.organizationId, {}, id),
    );
    const theirs = await subscribeLive(connect(other.ownerKey), CAPABILITY_SUBSCRIPTION, {}, (id) =>
      capabilityEvent(other.organizationId, {}, id),
    );
    const theirHealth = await subscribeLive(connect(other.ownerKey), HEALTH_SUBSCRIPTION, {}, (id) =>
      healthEvent(other.organizationId, {}, id),
    );
    const event = capabilityEvent(org.organizationId);
    await publish(event);
    await publish(healthEvent(org.organizationId));
    await waitFor(() => mine.events().length === 1, "the change for its own organization");
    await sleep(150);
    expect(theirs.events()).toEqual([]);
    expect(theirHealth.events()).toEqual([]);
  });

  it("delivers only the changes of servers the caller's access policies let it read, and follows a policy change", async () => {
    const viewer = await org.member("viewer");
    const policy = await request(stack.url, "POST", "/v1/policies", {
      auth: org.ownerKey,
      body: {
        name: "viewers do not see secret servers",
        effect: "deny",
        actions: ["read"],
        subjects: { roles: ["viewer"] },
        resources: { tags: ["secret"] },
      },
    });
    expect(policy.status).toBe(201);
    const probe = (id: string) => healthEvent(org.organizationId, {}, id);
    const owner = await subscribeLive(connect(org.ownerKey), HEALTH_SUBSCRIPTION, {}, probe);
    const denied = await subscribeLive(connect(viewer.apiKey), HEALTH_SUBSCRIPTION, {}, probe);
    const secret = healthEvent(org.organizationId, { tags: ["secret"] });
    const open = healthEvent(org.organizationId, { tags: ["weather"] });
    await publish(secret);
    await publish(open);
    await waitFor(() => owner.events().length === 2, "both changes for the owner");
    // Events reach a subscriber in order: the open one arrived, so the secret one was left out.
    await waitFor(() => denied.events().length === 1, "the open change for the viewer");
    expect(denied.events().map((e) => e.eventId)).toEqual([open.id]);

    const removed = await request(stack.url, "DELETE", `/v1/policies/${policy.body.id}`, { auth: org.ownerKey });
    expect(removed.status).toBe(204);
    // Within the live policies' refresh (2 s) the viewer sees secret servers' changes again.
    const again: string[] = [];
    await waitFor(
      () => {
        if (denied.events().some((e) => again.includes(e.eventId as string))) return true;
        const next = healthEvent(org.organizationId, { tags: ["secret"] });
        again.push(next.id);
        void publish(next);
        return false;
      },
      "a secret server's change after the policy's removal",
      10_000,
    );
  });

  it("delivers an event published twice (at-least-once relay) once", async () => {
    const sub = await subscribeLive(connect(org.ownerKey), CAPABILITY_SUBSCRIPTION, {}, (id) =>
      capabilityEvent(org.organizationId, {}, id),
    );
    const event = capabilityEvent(org.organizationId);
    await publish(event);
    await publish(event);
    await publish({ ...event, createdAt: new Date(Date.now() + 1000).toISOString() });
    const after = capabilityEvent(org.organizationId);
    await publish(after);
    await waitFor(() => sub.events().some((e) => e.eventId === after.id), "the event after the duplicates");
    await sleep(100);
    expect(sub.events().map((e) => e.eventId)).toEqual([event.id, after.id]);
  });

  it("skips malformed messages and keeps the subscription alive", async () => {
    const sub = await subscribeLive(connect(org.ownerKey), HEALTH_SUBSCRIPTION, {}, (id) =>
      healthEvent(org.organizationId, {}, id),
    );
    await stack.redis.publish(redisChannel(stack.redis, EVENTS_CHANNEL), "not json");
    await publish(healthEvent(org.organizationId, { status: "on fire" }));
    await publish({ ...healthEvent(org.organizationId), payload: { serverId: randomUUID() } });
    const good = healthEvent(org.organizationId);
    await publish(good);
    await waitFor(() => sub.events().length > 0, "the well-formed event");
    await sleep(100);
    expect(sub.events().map((e) => e.eventId)).toEqual([good.id]);
    expect(sub.collected.errors).toEqual([]);
    expect(sub.collected.completed).toBe(false);
  });

  it("refuses connections without valid credentials with 4401", async () => {
    const closeCode = (params: Record<string, unknown> | undefined) =>
      new Promise<{ code: number; reason: string }>((resolve, reject) => {
        const socket = new WebSocket(wsUrl(stack.url), "graphql-transport-ws");
        socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: params })));
        socket.on("message", (data) => reject(new Error(`unexpected message ${String(data)}`)));
        socket.on("close", (code, reason) => resolve({ code, reason: String(reason) }));
        socket.on("error", reject);
      });
    expect((await closeCode(undefined)).code).toBe(4401);
    expect((await closeCode({})).code).toBe(4401);
    expect((await closeCode({ Authorization: "Bearer sc_nope_nope" })).code).toBe(4401);
    expect((await closeCode({ authorization: `Bearer ${org.ownerKey}x` })).code).toBe(4401);
    expect((await closeCode({ Authorization: "Bearer not.a.jwt" })).code).toBe(4401);
    expect((await closeCode({ Authorization: org.ownerKey })).code).toBe(4401);

    // A JWT, and the lower-case header, are accepted.
    const token = await org.token(org.ownerId);
    const accepted = await new Promise<string>((resolve, reject) => {
      const socket = new WebSocket(wsUrl(stack.url), "graphql-transport-ws");
      socket.on("open", () =>
        socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })),
      );
      socket.on("message", (data) => {
        resolve(JSON.parse(String(data)).type);
        socket.close();
      });
      socket.on("close", (code) => reject(new Error(`closed ${code}`)));
    });
    expect(accepted).toBe("connection_ack");
  });

  it("subgraphs accept only the gateway's internal token", async () => {
    const closeCode = (params: Record<string, unknown>) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(stack.env.REGISTRY_SUBGRAPH_URL.replace(/^http/, "ws"), "graphql-transport-ws");
        socket.on("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: params })));
        socket.on("message", (data) => reject(new Error(`unexpected message ${String(data)}`)));
        socket.on("close", (code) => resolve(code));
      });
    expect(await closeCode({})).toBe(4401);
    expect(await closeCode({ Authorization: `Bearer ${org.ownerKey}` })).toBe(4401);
    expect(await closeCode({ "x-sprintconnect-internal-token": await org.token(org.ownerId) })).toBe(4401);
  });

  it("refuses invalid operations with BAD_REQUEST and missing scopes with FORBIDDEN", async () => {
    const client = connect(org.ownerKey);
    const failure = async (query: string, variables: Record<string, unknown> = {}, on = client) => {
      const sub = collect(on, query, variables);
      await waitFor(() => sub.completed, "the subscription to end");
      const errors = (sub.errors[0] as any[] | undefined) ?? sub.results.flatMap((r) => r.errors ?? []);
      return errors as Array<{ message: string; extensions?: { code?: string } }>;
    };
    for (const query of [
      "subscription { capabilityChanges { eventId nope } }",
      "subscription { capabilityChanges(filter: { kind: gadget }) { eventId } }",
      "subscription {",
      "query { me { role } }",
      "subscription { a: capabilityChanges { eventId } b: serverHealthChanges { eventId } }",
      "subscription { __typename }",
    ]) {
      const errors = await failure(query);
      expect({ query, codes: errors.map((e) => e.extensions?.code) }).toEqual({
        query,
        codes: errors.map(() => "BAD_REQUEST"),
      });
      expect(errors.length).toBeGreaterThan(0);
    }
    const badVariable = await failure(CAPABILITY_SUBSCRIPTION, { filter: { environment: "moon" } });
    expect(badVariable[0]?.extensions?.code).toBe("BAD_REQUEST");
    const badServerId = await failure(CAPABILITY_SUBSCRIPTION, { filter: { serverId: "not-a-uuid" } });
    expect(badServerId[0]?.extensions?.code).toBe("BAD_REQUEST");
    for (const tag of ["a\u0000b", "\ud800"]) {
      const unsafeText = await failure(CAPABILITY_SUBSCRIPTION, { filter: { tag } });
      expect(unsafeText[0]?.extensions?.code).toBe("BAD_REQUEST");
    }

    const noServers = await org.member("developer", ["chat:read"]);
    const forbidden = await failure(HEALTH_SUBSCRIPTION, {}, connect(noServers.apiKey));
    expect(forbidden[0]?.extensions?.code).toBe("FORBIDDEN");

    // The connection survives refused operations.
    const sub = await subscribeLive(client, HEALTH_SUBSCRIPTION, {}, (id) => healthEvent(org.organizationId, {}, id));
    expect(sub.collected.errors).toEqual([]);
  });

  it("closes a connection with 4401 as soon as its key is revoked, without waiting for its next operation", async () => {
    const member = await org.member("viewer");
    const client = connect(member.apiKey);
    const sub = await subscribeLive(client, HEALTH_SUBSCRIPTION, {}, (id) => healthEvent(org.organizationId, {}, id));
    const key = await stack.db.apiKey.findFirstOrThrow({ where: { userId: member.userId } });
    const revoked = await graphql(stack.url, org.ownerKey, "mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {
      id: key.id,
    });
    expect(revoked.body.errors).toBeUndefined();
    // The revocation's announcement makes the gateway check the connection again at once.
    await waitFor(() => sub.collected.completed, "the connection to close");
    expect((sub.collected.errors[0] as { code?: number }).code).toBe(4401);
    // And it cannot come back.
    const refused = collect(client, CAPABILITY_SUBSCRIPTION);
    await waitFor(() => refused.completed, "the new connection to be refused");
    expect((refused.errors[0] as { code?: number }).code).toBe(4401);
  });

  it("keeps HTTP GraphQL working beside WebSocket", async () => {
    const res = await graphql(stack.url, org.ownerKey, "query { me { role } }");
    expect(res.status).toBe(200);
    expect(res.body.data?.me?.role).toBe("owner");
  });
});

const urlOf = (app: FastifyInstance) => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

/** Another gateway instance (listening), in front of the stack's subgraphs unless told otherwise. */
async function startGateway(overrides: Record<string, string>): Promise<FastifyInstance> {
  const env = parseEnv(gatewayEnvSchema, {
    APP_ENV: "development",
    LOG_LEVEL: "silent",
    REDIS_URL: TEST_REDIS_URL,
    RATE_LIMIT_REQUESTS_PER_MINUTE: "100000",
    RATE_LIMIT_ORG_REQUESTS_PER_MINUTE: "100000",
    QUOTA_REQUESTS_PER_DAY: "1000000",
    REGISTRY_SUBGRAPH_URL: stack.env.REGISTRY_SUBGRAPH_URL,
    CHAT_SUBGRAPH_URL: stack.env.CHAT_SUBGRAPH_URL,
    METRICS_SUBGRAPH_URL: stack.env.METRICS_SUBGRAPH_URL,
    ADMIN_SUBGRAPH_URL: stack.env.ADMIN_SUBGRAPH_URL,
    ...overrides,
  });
  const gateway = await createGatewayApp({
    env,
    db: stack.db,
    redis: stack.redis,
    keys: stack.keys,
    apiKeyPepper: stack.apiKeyPepper,
    logger: createLogger("test", "silent"),
    supergraphSdl,
  });
  await gateway.listen({ port: 0, host: "127.0.0.1" });
  return gateway;
}

describe("subscriptions and rate limits", () => {
  let limited: FastifyInstance;
  beforeAll(async () => {
    limited = await startGateway({ RATE_LIMIT_REQUESTS_PER_MINUTE: "2", RATE_LIMIT_BURST_SIZE: "0" });
  });
  afterAll(() => limited?.close());

  it("counts the connection and each subscription; refuses past the limit", async () => {
    const { apiKey } = await org.member("viewer");
    const client = connect(apiKey, urlOf(limited));
    // connection_init (1) and a first subscription (2) are within the limit...
    await subscribeLive(client, HEALTH_SUBSCRIPTION, {}, (id) => healthEvent(org.organizationId, {}, id));
    // ...a second subscription is not, and neither is a new connection.
    const refused = collect(client, CAPABILITY_SUBSCRIPTION);
    await waitFor(() => refused.completed, "the refusal");
    const errors = refused.errors[0] as Array<{ extensions?: { code?: string; details?: { retryAfter?: number } } }>;
    expect(errors[0]?.extensions?.code).toBe("RATE_LIMITED");
    expect(errors[0]?.extensions?.details?.retryAfter).toBeGreaterThanOrEqual(1);
    const closed = await new Promise<number>((resolve) => {
      const socket = new WebSocket(wsUrl(urlOf(limited)), "graphql-transport-ws");
      socket.on("open", () =>
        socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${apiKey}` } })),
      );
      socket.on("close", (code) => resolve(code));
    });
    expect(closed).toBe(4429);
  });
});

describe("subscriptions across instances", () => {
  let registry2: FastifyInstance;
  let gateway2: FastifyInstance;
  let events2: RedisEventHub;
  let url2: string;

  beforeAll(async () => {
    const logger = createLogger("test", "silent");
    // A second registry "process": its own schema, app and Redis subscriber.
    events2 = new RedisEventHub({ redisUrl: TEST_REDIS_URL, logger });
    registry2 = await createSubgraphApp({
      name: "registry",
      // Only subscriptions go through this instance: no egress, secrets or discovery queue are used.
      schema: await buildRegistrySchema(stack.db, {
        egress: { check: async () => undefined },
        secrets: new LocalSecretStore(stack.db, randomBytes(32)),
        requestDiscovery: null,
        logger,
        maxServersPerOrganization: 500,
      }),
      verifier: new InternalTokenVerifier(stack.keys),
      logger,
      production: false,
      events: events2,
    });
    await registry2.listen({ port: 0, host: "127.0.0.1" });
    const registryUrl = `http://127.0.0.1:${(registry2.server.address() as AddressInfo).port}/graphql`;
    // A second gateway, whose registry is the second instance.
    gateway2 = await startGateway({ REGISTRY_SUBGRAPH_URL: registryUrl });
    url2 = urlOf(gateway2);
  });
  let closed = false;
  afterAll(async () => {
    if (!closed) {
      await gateway2?.close();
      await registry2?.close();
    }
    await events2?.close();
  });

  it("delivers one publish to subscribers of both gateways, through both registry instances", async () => {
    const serverId = randomUUID();
    const probe = (id: string) => capabilityEvent(org.organizationId, { serverId }, id);
    const variables = { filter: { serverId } };
    const viaFirst = await subscribeLive(connect(org.ownerKey), CAPABILITY_SUBSCRIPTION, variables, probe);
    const viaSecond = await subscribeLive(connect(org.ownerKey, url2), CAPABILITY_SUBSCRIPTION, variables, probe);
    const health = await subscribeLive(connect(org.ownerKey, url2), HEALTH_SUBSCRIPTION, {}, (id) =>
      healthEvent(org.organizationId, {}, id),
    );
    expect(events2.size).toBeGreaterThanOrEqual(2);

    const event = capabilityEvent(org.organizationId, { serverId });
    await publish(event);
    await publish(event);
    const h = healthEvent(org.organizationId, { status: "auth_required" });
    await publish(h);
    await waitFor(
      () => viaFirst.events().length > 0 && viaSecond.events().length > 0 && health.events().length > 0,
      "both gateways",
    );
    await sleep(100);
    expect(viaFirst.events().map((e) => e.eventId)).toEqual([event.id]);
    expect(viaSecond.events().map((e) => e.eventId)).toEqual([event.id]);
    expect(health.events()).toMatchObject([{ eventId: h.id, status: "auth_required" }]);
  });

  // Subscribers whose results are identical share one upstream subscription (gateway/src/subscriptions/sharing.ts):
  // events2.size counts the upstream subscriptions the second registry instance serves.
  it("feeds identical subscriptions from one upstream subscription, each subscriber getting every event", async () => {
    const serverId = randomUUID();
    const variables = { filter: { serverId } };
    const probe = (id: string) => capabilityEvent(org.organizationId, { serverId }, id);
    const before = events2.size;
    const subscribers: Awaited<ReturnType<typeof subscribeLive>>[] = [];
    for (let c = 0; c < 3; c++) {
      const client = connect(org.ownerKey, url2);
      for (let s = 0; s < 4; s++)
        subscribers.push(await subscribeLive(client, CAPABILITY_SUBSCRIPTION, variables, probe));
    }
    expect(events2.size).toBe(before + 1);
    const sent = Array.from({ length: 5 }, () => capabilityEvent(org.organizationId, { serverId }));
    for (const event of sent) await publish(event);
    await waitFor(() => subscribers.every((s) => s.events().length >= sent.length), "every subscriber");
    await sleep(100);
    for (const subscriber of subscribers) {
      expect(subscriber.events().map((e) => e.eventId)).toEqual(sent.map((e) => e.id));
    }
    for (const subscriber of subscribers) subscriber.stop();
    await waitFor(() => events2.size === before, "the last subscriber's leaving to end the upstream subscription");
  });

  it("never shares between organizations, filters or scopes", async () => {
    const serverId = randomUUID();
    const variables = { filter: { serverId } };
    const before = events2.size;
    const mine = await subscribeLive(connect(org.ownerKey, url2), CAPABILITY_SUBSCRIPTION, variables, (id) =>
      capabilityEvent(org.organizationId, { serverId }, id),
    );
    const theirs = await subscribeLive(connect(other.ownerKey, url2), CAPABILITY_SUBSCRIPTION, variables, (id) =>
      capabilityEvent(other.organizationId, { serverId }, id),
    );
    const filtered = await subscribeLive(
      connect(org.ownerKey, url2),
      CAPABILITY_SUBSCRIPTION,
      { filter: { serverId, kind: "tool" } },
      (id) => capabilityEvent(org.organizationId, { serverId }, id),
    );
    const viewer = await org.member("viewer");
    const narrower = await subscribeLive(connect(viewer.apiKey, url2), CAPABILITY_SUBSCRIPTION, variables, (id) =>
      capabilityEvent(org.organizationId, { serverId }, id),
    );
    expect(events2.size).toBe(before + 4);
    const ours = capabilityEvent(org.organizationId, { serverId, kind: "prompt" });
    const foreign = capabilityEvent(other.organizationId, { serverId });
    await publish(ours);
    await publish(foreign);
    await waitFor(
      () => mine.events().length > 0 && theirs.events().length > 0 && narrower.events().length > 0,
      "events",
    );
    await sleep(100);
    expect(mine.events().map((e) => e.eventId)).toEqual([ours.id]);
    expect(narrower.events().map((e) => e.eventId)).toEqual([ours.id]);
    expect(theirs.events().map((e) => e.eventId)).toEqual([foreign.id]);
    expect(filtered.events()).toEqual([]);
    for (const s of [mine, theirs, filtered, narrower]) s.stop();
    await waitFor(() => events2.size === before, "the upstream subscriptions to end");
  });

  // The gateway writes shared results to the sockets itself (gateway/src/subscriptions/delivery.ts):
  // a plain WebSocket client sees the exact frames, and which subscription each is for.
  it("sends each subscriber on one connection its own selection under its own id, shared or not", async () => {
    const serverId = randomUUID();
    const before = events2.size;
    const socket = new WebSocket(`${url2.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
    const frames: Array<{ id?: string; type: string; payload?: any }> = [];
    socket.on("message", (data) => frames.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${org.ownerKey}` } }));
    await waitFor(() => frames.some((f) => f.type === "connection_ack"), "connection_ack");
    const byName = `subscription($filter: CapabilityChangeFilter) { capabilityChanges(filter: $filter) { eventId name } }`;
    const byKind = `subscription($filter: CapabilityChangeFilter) { capabilityChanges(filter: $filter) { kind eventId serverName } }`;
    const subscribe = (id: string, query: string) =>
      socket.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables: { filter: { serverId } } } }));
    subscribe("name-1", byName);
    subscribe("name-2", byName);
    subscribe("kind-1", byKind);
    const nextOf = (id: string) => frames.filter((f) => f.id === id && f.type === "next");
    const ids = ["name-1", "name-2", "kind-1"];
    // Live once each has seen a probe.
    await waitFor(() => {
      if (ids.every((id) => nextOf(id).length > 0)) return true;
      void publish(capabilityEvent(org.organizationId, { serverId, name: "probe" }));
      return false;
    }, "the three subscriptions to be live");
    // One upstream subscription for the two identical ones, one for the other selection.
    expect(events2.size).toBe(before + 2);
    const counts = Object.fromEntries(ids.map((id) => [id, nextOf(id).length]));
    const event = capabilityEvent(org.organizationId, { serverId, name: "get_tides", kind: "tool" });
    await publish(event);
    await waitFor(() => ids.every((id) => nextOf(id).length > (counts[id] as number)), "the event");
    const last = (id: string) => nextOf(id).at(-1);
    for (const id of ["name-1", "name-2"]) {
      expect(last(id)).toEqual({
        id,
        type: "next",
        payload: { data: { capabilityChanges: { eventId: event.id, name: "get_tides" } } },
      });
    }
    expect(last("kind-1")).toEqual({
      id: "kind-1",
      type: "next",
      payload: { data: { capabilityChanges: { kind: "tool", eventId: event.id, serverName: "weather" } } },
    });

    // One sharer completes: the other still gets events, the completed one nothing more. The
    // gateway handles a connection's messages in order: once a subscription sent after the
    // complete is live, the complete was handled.
    socket.send(JSON.stringify({ id: "name-1", type: "complete" }));
    const markerServer = randomUUID();
    socket.send(
      JSON.stringify({
        id: "marker",
        type: "subscribe",
        payload: { query: byName, variables: { filter: { serverId: markerServer } } },
      }),
    );
    await waitFor(() => {
      if (nextOf("marker").length > 0) return true;
      void publish(capabilityEvent(org.organizationId, { serverId: markerServer }));
      return false;
    }, "a subscription sent after the complete to be live");
    const after = capabilityEvent(org.organizationId, { serverId, name: "get_currents" });
    await publish(after);
    await waitFor(
      () => nextOf("name-2").at(-1)?.payload?.data?.capabilityChanges?.eventId === after.id,
      "the event after the complete",
    );
    expect(nextOf("name-1").map((f) => f.payload.data.capabilityChanges.eventId)).not.toContain(after.id);
    expect(frames.filter((f) => f.type === "error")).toEqual([]);
    socket.close(1000);
    await waitFor(() => events2.size === before, "the upstream subscriptions to end");
  });

  it("keeps feeding the others when one sharer leaves or another caller's key is revoked", async () => {
    const serverId = randomUUID();
    const variables = { filter: { serverId } };
    const probe = (id: string) => capabilityEvent(org.organizationId, { serverId }, id);
    const before = events2.size;
    const [stays, revoked] = await Promise.all([org.member("viewer"), org.member("viewer")]);
    // One caller on two connections shares one upstream; another caller (policies may name
    // users and keys) has its own.
    const staying = await subscribeLive(connect(stays.apiKey, url2), CAPABILITY_SUBSCRIPTION, variables, probe);
    const leaving = await subscribeLive(connect(stays.apiKey, url2), CAPABILITY_SUBSCRIPTION, variables, probe);
    expect(events2.size).toBe(before + 1);
    const revokedClient = connect(revoked.apiKey, url2);
    const revokedSub = await subscribeLive(revokedClient, CAPABILITY_SUBSCRIPTION, variables, probe);
    expect(events2.size).toBe(before + 2);

    leaving.stop();
    const first = capabilityEvent(org.organizationId, { serverId });
    await publish(first);
    await waitFor(() => staying.events().length === 1 && revokedSub.events().length === 1, "the first event");
    expect(leaving.events()).toEqual([]);

    const key = await stack.db.apiKey.findFirstOrThrow({ where: { userId: revoked.userId } });
    const revocation = await graphql(stack.url, org.ownerKey, "mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {
      id: key.id,
    });
    expect(revocation.body.errors).toBeUndefined();
    // The revocation's announcement reaches this (second) gateway, which closes that connection.
    await waitFor(() => revokedSub.collected.completed, "the revoked connection to close");
    expect((revokedSub.collected.errors[0] as { code?: number }).code).toBe(4401);

    const second = capabilityEvent(org.organizationId, { serverId });
    await publish(second);
    await waitFor(() => staying.events().length === 2, "the second event");
    expect(staying.events().map((e) => e.eventId)).toEqual([first.id, second.id]);
    expect(revokedSub.events().map((e) => e.eventId)).toEqual([first.id]);
    await waitFor(() => events2.size === before + 1, "the revoked caller's upstream to end");
    staying.stop();
    await waitFor(() => events2.size === before, "the upstream subscription to end");
  });

  it("closes the sockets of a closing subgraph and of a closing gateway", async () => {
    const sub = await subscribeLive(connect(org.ownerKey, url2), HEALTH_SUBSCRIPTION, {}, (id) =>
      healthEvent(org.organizationId, {}, id),
    );
    expect(events2.size).toBeGreaterThan(0);
    // A client that completes its subscription releases it on the subgraph.
    const before = events2.size;
    // Another filter: its own upstream subscription (an identical one would share the first).
    const extra = await subscribeLive(
      connect(org.ownerKey, url2),
      HEALTH_SUBSCRIPTION,
      { filter: { tag: "weather" } },
      (id) => healthEvent(org.organizationId, {}, id),
    );
    expect(events2.size).toBe(before + 1);
    extra.stop();
    await waitFor(() => events2.size === before, "the completed subscription to be released");
    // The registry instance goes away: its WebSocket server and sockets close with it.
    let started = Date.now();
    await registry2.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(events2.size).toBe(0);
    // The gateway goes away: its clients see 1001 Going Away (and would reconnect elsewhere).
    started = Date.now();
    await gateway2.close();
    closed = true;
    expect(Date.now() - started).toBeLessThan(3_000);
    await waitFor(() => sub.collected.completed, "the client to see the close");
    expect((sub.collected.errors[0] as { code?: number } | undefined)?.code).toBe(1001);
  });
});

import {
  accessEpochKey,
  announceAccessChange,
  INTERNAL_TOKEN_HEADER,
  InternalTokenSigner,
  ROLE_SCOPES,
} from "@sprintconnect/core";
import type { FastifyInstance } from "fastify";
import { graphql, request } from "./support/http";
import { createTestOrg, type Stack, startGateway, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";

/**
 * The registry's cache of access policies (`CallerPolicies`, keyed by organization and access
 * epoch): a policy or default-access change made through the API applies to the very next
 * request on EVERY gateway instance (two here, sharing Redis, PostgreSQL and the registry), and
 * what bypasses the API is bounded by POLICY_CACHE_TTL_SECONDS.
 */

const TTL_SECONDS = 3;
let stack: Stack;
let second: { url: string; app: FastifyInstance };
let org: TestOrg;
let developer: { userId: string; apiKey: string };
const servers: Record<"A" | "B", string> = { A: "", B: "" };

const LIST = "{ mcpServers(limit: 100) { items { id } } }";

async function seedServer(name: string): Promise<string> {
  const row = await stack.db.mcpServer.create({
    data: {
      organizationId: org.organizationId,
      name,
      baseUrl: `https://${name}.example.com/mcp`,
      environment: "production",
      tags: [name],
      status: "active",
    },
  });
  return row.id;
}

/** The ids the developer's key lists, through GraphQL and REST, on each gateway (4 lists). */
async function visible(): Promise<string[][]> {
  return Promise.all(
    [stack.url, second.url].flatMap((url) => [
      graphql(url, developer.apiKey, LIST).then((r) => ids(r.body.data?.mcpServers.items)),
      request(url, "GET", "/v1/mcp/servers?limit=100", { auth: developer.apiKey }).then((r) => ids(r.body.items)),
    ]),
  );
}
const ids = (items: Array<{ id: string }> | undefined) => (items ?? []).map((s) => s.id).sort();
const everywhere = (list: string[]) => [list, list, list, list];
const both = () => [servers.A, servers.B].sort();

async function denyA(via: string): Promise<string> {
  const res = await request(via, "POST", "/v1/policies", {
    auth: org.ownerKey,
    body: {
      name: `no A ${Date.now()}`,
      effect: "deny",
      actions: ["read"],
      subjects: { roles: ["developer"] },
      resources: { serverIds: [servers.A] },
    },
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** A policy row that denies developers server A, written with Prisma (behind the API's back). */
function denyARow(name: string) {
  return {
    organizationId: org.organizationId,
    name,
    effect: "deny" as const,
    actions: ["read"],
    subjectRoles: ["developer"],
    subjectUserIds: [],
    subjectApiKeyIds: [],
    serverIds: [servers.A],
    serverTags: [],
    environments: [],
    capabilityPatterns: [],
    capabilityKinds: [],
  };
}

/** The developer's list read from the registry directly, with an internal token that carries no epoch. */
async function direct(): Promise<string[]> {
  const token = await new InternalTokenSigner(stack.keys).sign({
    organizationId: org.organizationId,
    userId: developer.userId,
    apiKeyId: null,
    role: "developer",
    scopes: [...ROLE_SCOPES.developer],
    authMethod: "jwt",
  });
  const res = await fetch(stack.subgraphUrls.registry!, {
    method: "POST",
    headers: { "content-type": "application/json", [INTERNAL_TOKEN_HEADER]: token },
    body: JSON.stringify({ query: LIST }),
  });
  const body = (await res.json()) as { data?: { mcpServers: { items: Array<{ id: string }> } } };
  return ids(body.data?.mcpServers.items);
}

beforeAll(async () => {
  stack = await startStack({ POLICY_CACHE_TTL_SECONDS: String(TTL_SECONDS) });
  second = await startGateway(stack);
  org = await createTestOrg(stack, "Policy cache");
  developer = await org.member("developer");
  servers.A = await seedServer("alpha");
  servers.B = await seedServer("beta");
});
afterEach(async () => {
  await stack.db.policy.deleteMany({ where: { organizationId: org.organizationId } });
  await stack.db.organization.update({ where: { id: org.organizationId }, data: { defaultAccess: "open" } });
  await announceAccessChange(stack.redis, org.organizationId);
});
afterAll(async () => {
  await second?.app.close();
  await stack.close();
});

describe("the registry's policy cache", () => {
  it("applies a new policy, and its deletion, to the very next request on every gateway", async () => {
    // Every path has read (and cached) the open policy set.
    expect(await visible()).toEqual(everywhere(both()));

    const policyId = await denyA(stack.url);
    expect(await visible()).toEqual(everywhere([servers.B]));

    const deleted = await request(second.url, "DELETE", `/v1/policies/${policyId}`, { auth: org.ownerKey });
    expect(deleted.status).toBe(204);
    expect(await visible()).toEqual(everywhere(both()));
  });

  it("applies a changed policy and a changed default access to the very next request on every gateway", async () => {
    const policyId = await denyA(second.url);
    expect(await visible()).toEqual(everywhere([servers.B]));

    const changed = await request(stack.url, "PATCH", `/v1/policies/${policyId}`, {
      auth: org.ownerKey,
      body: { resources: { serverIds: [servers.B] } },
    });
    expect(changed.status).toBe(200);
    expect(await visible()).toEqual(everywhere([servers.A]));

    const closed = await graphql(
      second.url,
      org.ownerKey,
      `mutation { updateOrganizationSettings(input: { defaultAccess: "closed" }) { defaultAccess } }`,
    );
    expect(closed.body.data?.updateOrganizationSettings.defaultAccess).toBe("closed");
    expect(await visible()).toEqual(everywhere([]));
  });

  it("applies a policy written behind the API's back within the cache's TTL, and at once where no epoch is given", async () => {
    expect(await visible()).toEqual(everywhere(both()));
    const writtenAt = Date.now();
    await stack.db.policy.create({
      data: denyARow("behind the API"),
    });
    // A caller that is not the gateway (no epoch in its token) reads the policies fresh...
    expect(await direct()).toEqual([servers.B]);
    // ...the gateways' requests are served from the cache of their epoch, nothing having moved it...
    expect(await visible()).toEqual(everywhere(both()));
    // ...until the entry's TTL ends.
    await waitFor("the registry to read the policies again", async () =>
      (await visible()).every((list) => list.length === 1 && list[0] === servers.B),
    );
    // Polling adds up to one round of requests to the bound.
    expect(Date.now() - writtenAt).toBeLessThan(TTL_SECONDS * 1000 + 2_000);
  });

  it("never takes an epoch for an earlier one when Redis loses it", async () => {
    expect(await visible()).toEqual(everywhere(both()));
    const before = Number(await stack.redis.get(accessEpochKey(org.organizationId)));
    await stack.db.policy.create({
      data: denyARow("while Redis forgot"),
    });
    // Redis loses the key (a restart without persistence): the next request makes a new epoch
    // from Redis's clock, later than every epoch handed out before, so no cache entry has it.
    await stack.redis.del(accessEpochKey(org.organizationId));
    expect(await visible()).toEqual(everywhere([servers.B]));
    expect(Number(await stack.redis.get(accessEpochKey(org.organizationId)))).toBeGreaterThan(before);
  });
});

import {
  announceAccessChange,
  compilePolicies,
  type DefaultAccess,
  loadPolicySet,
  type PolicyAction,
  type Role,
} from "@sprintconnect/core";
import type { Client } from "graphql-ws";
import { type FixtureHandle, startFixture } from "./fixtures/mcp";
import { graphql, request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";
import { waitFor } from "./support/wait";
import { type Collected, collect, connectWs } from "./support/ws";

/**
 * Access policies end to end: CRUD with its errors and audit, and a matrix of roles × resources
 * × actions under allow, deny and the default (open, closed), checked through REST and GraphQL
 * on discovery (with explain), server reads and the chat agent's tools.
 */

let stack: Stack;
let org: TestOrg;
const callers = {} as Record<Role, { userId: string; key: string }>;
/** The seeded servers: A (finance, production), B (development), C (ops, staging, inactive). */
const servers = {} as Record<"A" | "B" | "C", { id: string; tags: string[]; environment: string }>;
const capabilityIds = {} as Record<string, string>;

const DISCOVER_SERVERS = `query($explain: Boolean) { discoverServers(limit: 100, explain: $explain) {
  items { id name } excluded { serverId capabilityId reason policyId policyName } } }`;
const DISCOVER_CAPABILITIES = `query($explain: Boolean) { discoverCapabilities(limit: 200, explain: $explain) {
  items { capability { id name } server { id } } excluded { serverId capabilityId capabilityName reason policyId } } }`;

async function seedServer(name: string, environment: string, tags: string[], status: "active" | "inactive") {
  const row = await stack.db.mcpServer.create({
    data: {
      organizationId: org.organizationId,
      name,
      baseUrl: `https://${name}.example.com/mcp`,
      environment: environment as never,
      tags,
      status,
      healthStatus: "healthy",
    },
  });
  return row.id;
}

async function seedCapability(serverId: string, name: string, kind: string, extra: Record<string, unknown> = {}) {
  const row = await stack.db.mcpCapability.create({
    data: {
      organizationId: org.organizationId,
      serverId,
      kind: kind as never,
      name,
      definition: { name },
      definitionHash: name,
      ...extra,
    },
  });
  capabilityIds[name] = row.id;
}

async function createPolicy(body: Record<string, unknown>, auth = callers.admin.key) {
  const res = await request(stack.url, "POST", "/v1/policies", { auth, body });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string };
}

/** Deletes the organization's policies behind the API's back, announcing it as the API would. */
async function clearPolicies() {
  await stack.db.policy.deleteMany({ where: { organizationId: org.organizationId } });
  await announceAccessChange(stack.redis, org.organizationId);
}

async function setDefault(defaultAccess: DefaultAccess) {
  const res = await graphql(
    stack.url,
    callers.owner.key,
    `mutation($d: String) { updateOrganizationSettings(input: { defaultAccess: $d }) { defaultAccess } }`,
    { d: defaultAccess },
  );
  expect(res.body.errors).toBeUndefined();
  expect(res.body.data?.updateOrganizationSettings.defaultAccess).toBe(defaultAccess);
}

/** What the evaluator (in memory) says each role may see: the expectation the SQL path must meet. */
async function expected(role: Role, action: PolicyAction) {
  const set = await loadPolicySet(stack.db, org.organizationId);
  const c = compilePolicies(set, { role, userId: callers[role].userId, apiKeyId: null }, action);
  const live = (["A", "B"] as const).filter((s) => c.server(servers[s as "A"]).allowed).map((s) => servers[s].id);
  return live.sort();
}

beforeAll(async () => {
  stack = await startStack();
  org = await createTestOrg(stack, "Policies");
  callers.owner = { userId: org.ownerId, key: org.ownerKey };
  for (const role of ["admin", "developer", "viewer"] as const) {
    const m = await org.member(role);
    callers[role] = { userId: m.userId, key: m.apiKey };
  }
  const a = await seedServer("alpha-books", "production", ["finance"], "active");
  const b = await seedServer("beta-tools", "development", [], "active");
  const c = await seedServer("gamma-ops", "staging", ["ops"], "inactive");
  servers.A = { id: a, tags: ["finance"], environment: "production" };
  servers.B = { id: b, tags: [], environment: "development" };
  servers.C = { id: c, tags: ["ops"], environment: "staging" };
  await seedCapability(a, "search_invoices", "tool");
  await seedCapability(a, "delete_invoice", "tool");
  await seedCapability(b, "echo_text", "tool");
  await seedCapability(b, "handbook", "resource");
  await seedCapability(b, "held_tool", "tool", { reviewRequired: true });
  await seedCapability(b, "off_tool", "tool", { enabled: false });
  await seedCapability(c, "ops_restart", "tool");
}, 60_000);

afterAll(() => stack.close());

afterEach(async () => {
  await stack.db.organization.update({ where: { id: org.organizationId }, data: { defaultAccess: "open" } });
  await clearPolicies();
});

describe("policy CRUD", () => {
  it("creates, reads, changes and deletes a policy through REST, each change audited", async () => {
    const created = await createPolicy({
      name: "no finance for developers",
      effect: "deny",
      actions: ["discover", "read"],
      subjects: { roles: ["developer"] },
      resources: { tags: ["Finance"], capabilityNames: ["delete_*"] },
    });
    const got = await request(stack.url, "GET", `/v1/policies/${created.id}`, { auth: callers.admin.key });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      name: "no finance for developers",
      effect: "deny",
      actions: ["discover", "read"],
      subjects: { roles: ["developer"], userIds: [], apiKeyIds: [] },
      resources: { tags: ["finance"], capabilityNames: ["delete_*"], serverIds: [], environments: [] },
    });
    const listed = await request(stack.url, "GET", "/v1/policies", { auth: callers.owner.key });
    expect(listed.body.items.map((p: { id: string }) => p.id)).toEqual([created.id]);
    const patched = await request(stack.url, "PATCH", `/v1/policies/${created.id}`, {
      auth: callers.admin.key,
      body: { effect: "allow", subjects: { userIds: [callers.viewer.userId] } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ effect: "allow", subjects: { roles: [], userIds: [callers.viewer.userId] } });
    const deleted = await request(stack.url, "DELETE", `/v1/policies/${created.id}`, { auth: callers.admin.key });
    expect(deleted.status).toBe(204);
    expect((await request(stack.url, "GET", `/v1/policies/${created.id}`, { auth: callers.admin.key })).status).toBe(
      404,
    );
    const audit = await stack.db.auditLog.findMany({
      where: { organizationId: org.organizationId, targetId: created.id },
      orderBy: { seq: "asc" },
    });
    expect(audit.map((e) => [e.action, e.actorId])).toEqual([
      ["policy.created", expect.any(String)],
      ["policy.updated", expect.any(String)],
      ["policy.deleted", expect.any(String)],
    ]);
    expect(audit[1]?.data).toMatchObject({ before: { effect: "deny" }, after: { effect: "allow" } });
  });

  it("has GraphQL twins for every operation", async () => {
    const created = await graphql(
      stack.url,
      callers.owner.key,
      `mutation($input: CreatePolicyInput!) { createPolicy(input: $input) { id name effect actions subjects { roles } } }`,
      { input: { name: "gql", effect: "allow", actions: ["read"], subjects: { roles: ["viewer"] } } },
    );
    expect(created.body.errors).toBeUndefined();
    const id = created.body.data?.createPolicy.id;
    const updated = await graphql(
      stack.url,
      callers.owner.key,
      `mutation($id: ID!) { updatePolicy(id: $id, input: { name: "gql 2", actions: ["read", "discover"] }) { name actions } }`,
      { id },
    );
    expect(updated.body.data?.updatePolicy).toEqual({ name: "gql 2", actions: ["read", "discover"] });
    const read = await graphql(
      stack.url,
      callers.admin.key,
      `query($id: ID!) { policy(id: $id) { name } policies { items { id } } }`,
      {
        id,
      },
    );
    expect(read.body.data).toEqual({ policy: { name: "gql 2" }, policies: { items: [{ id }] } });
    const deleted = await graphql(stack.url, callers.owner.key, `mutation($id: ID!) { deletePolicy(id: $id) { id } }`, {
      id,
    });
    expect(deleted.body.data?.deletePolicy.id).toBe(id);
  });

  it.each([
    ["an unknown action", { actions: ["delete"] }, /actions\.0: unknown action "delete"/],
    ["no action", { actions: [] }, /actions: must name at least one action/],
    ["empty subjects", { subjects: {} }, /subjects: must name at least one role, user or API key/],
    ["an unknown role", { subjects: { roles: ["root"] } }, /unknown role "root"/],
    ["a bad pattern", { resources: { capabilityNames: ["drop table%"] } }, /bad pattern "drop table%"/],
    ["an empty pattern", { resources: { capabilityNames: [""] } }, /bad pattern "": must not be empty/],
    ["an unknown effect", { effect: "maybe" }, /unknown effect "maybe"/],
    ["an unknown environment", { resources: { environments: ["moon"] } }, /unknown environment "moon"/],
    ["an unknown kind", { resources: { capabilityKinds: ["widget"] } }, /unknown capability kind "widget"/],
    ["a server id that is not an id", { resources: { serverIds: ["x"] } }, /"x" is not an id/],
    [
      "a user who is not a member",
      { subjects: { userIds: ["00000000-0000-4000-8000-000000000000"] } },
      /no member of this organization/,
    ],
  ])("refuses %s with VALIDATION_FAILED naming the field, and stores nothing", async (_what, change, message) => {
    const body = { name: "bad", effect: "deny", actions: ["read"], subjects: { roles: ["viewer"] }, ...change };
    const res = await request(stack.url, "POST", "/v1/policies", { auth: callers.admin.key, body });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.message).toMatch(message);
    expect(await stack.db.policy.count({ where: { organizationId: org.organizationId } })).toBe(0);
  });

  it("documents the policy routes, explain and the exclusions in the OpenAPI document", async () => {
    const res = await request(stack.url, "GET", "/v1/openapi.json");
    const paths = res.body.paths;
    expect(Object.keys(paths["/v1/policies"])).toEqual(expect.arrayContaining(["get", "post"]));
    expect(Object.keys(paths["/v1/policies/{id}"])).toEqual(expect.arrayContaining(["get", "patch", "delete"]));
    expect(paths["/v1/discovery/policies"].get).toBeDefined();
    const create = paths["/v1/policies"].post.requestBody.content["application/json"].schema;
    expect(create.required).toEqual(expect.arrayContaining(["name", "effect", "actions", "subjects"]));
    const discover = paths["/v1/discovery/servers"].get;
    expect(discover.parameters.map((p: { name: string }) => p.name)).toContain("explain");
    const body = discover.responses["200"].content["application/json"].schema;
    // Nullable (null unless explain=true): anyOf [list, null].
    const excluded = body.properties.excluded.anyOf[0];
    expect(Object.keys(excluded.items.properties)).toEqual(expect.arrayContaining(["serverId", "reason", "policyId"]));
  });

  it("refuses a second policy with the same name with CONFLICT", async () => {
    const body = { name: "twice", effect: "deny", actions: ["read"], subjects: { roles: ["viewer"] } };
    await createPolicy(body);
    const res = await request(stack.url, "POST", "/v1/policies", { auth: callers.admin.key, body });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("CONFLICT");
  });

  it("lets owners and admins manage policies, and refuses developers and viewers with FORBIDDEN", async () => {
    const body = { name: "who", effect: "deny", actions: ["read"], subjects: { roles: ["viewer"] } };
    for (const role of ["developer", "viewer"] as const) {
      const created = await request(stack.url, "POST", "/v1/policies", { auth: callers[role].key, body });
      expect(created.status).toBe(403);
      expect(created.body.error.code).toBe("FORBIDDEN");
      expect((await request(stack.url, "GET", "/v1/policies", { auth: callers[role].key })).status).toBe(403);
    }
    await createPolicy(body, callers.owner.key);
  });

  it("lets only an owner change the organization's default access, and refuses an unknown value", async () => {
    const set = `mutation($d: String) { updateOrganizationSettings(input: { defaultAccess: $d }) { defaultAccess } }`;
    const admin = await graphql(stack.url, callers.admin.key, set, { d: "closed" });
    expect(admin.body.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const bad = await graphql(stack.url, callers.owner.key, set, { d: "ajar" });
    expect(bad.body.errors?.[0]?.extensions?.code).toBe("VALIDATION_FAILED");
    expect(bad.body.errors?.[0]?.message).toMatch(/unknown default access "ajar"/);
    await setDefault("closed");
    const entry = await stack.db.auditLog.findFirst({
      where: { organizationId: org.organizationId, action: "organization.updated" },
      orderBy: { seq: "desc" },
    });
    expect(entry?.data).toMatchObject({ after: { defaultAccess: "closed" } });
  });
});

describe("the policy matrix", () => {
  const ROLES: Role[] = ["owner", "admin", "developer", "viewer"];

  /** Scenarios: the default, the policies, and what some roles must see (hand-written, beside the evaluator's). */
  const SCENARIOS: Array<{
    name: string;
    defaultAccess: DefaultAccess;
    policies: Array<Record<string, unknown>>;
    /** Server letters each role discovers, written by hand. */
    discover: Partial<Record<Role, Array<"A" | "B">>>;
    /** Server letters each role reads (mcpServer), written by hand. */
    read: Partial<Record<Role, Array<"A" | "B">>>;
  }> = [
    {
      name: "open default, no policy",
      defaultAccess: "open",
      policies: [],
      discover: { owner: ["A", "B"], viewer: ["A", "B"] },
      read: { owner: ["A", "B"], viewer: ["A", "B"] },
    },
    {
      name: "open default, deny developers discovering finance",
      defaultAccess: "open",
      policies: [
        { effect: "deny", actions: ["discover"], subjects: { roles: ["developer"] }, resources: { tags: ["finance"] } },
      ],
      discover: { developer: ["B"], viewer: ["A", "B"] },
      read: { developer: ["A", "B"] },
    },
    {
      name: "open default, deny viewers reading production",
      defaultAccess: "open",
      policies: [
        {
          effect: "deny",
          actions: ["read"],
          subjects: { roles: ["viewer"] },
          resources: { environments: ["production"] },
        },
      ],
      discover: { viewer: ["A", "B"] },
      read: { viewer: ["B"], developer: ["A", "B"] },
    },
    {
      name: "closed default, allow developers development servers",
      defaultAccess: "closed",
      policies: [
        {
          effect: "allow",
          actions: ["discover", "read"],
          subjects: { roles: ["developer"] },
          resources: { environments: ["development"] },
        },
      ],
      discover: { developer: ["B"], owner: [], viewer: [] },
      read: { developer: ["B"], admin: [] },
    },
    {
      name: "closed default, allow everyone everything, deny wins for admins on finance",
      defaultAccess: "closed",
      policies: [
        { effect: "allow", actions: ["discover", "read", "call_tool"], subjects: { roles: ROLES } },
        {
          effect: "deny",
          actions: ["discover", "read"],
          subjects: { roles: ["admin"] },
          resources: { tags: ["finance"] },
        },
      ],
      discover: { admin: ["B"], owner: ["A", "B"] },
      read: { admin: ["B"], viewer: ["A", "B"] },
    },
  ];

  for (const scenario of SCENARIOS) {
    it(`gives each role what the policies allow: ${scenario.name}`, async () => {
      await setDefault(scenario.defaultAccess);
      let i = 0;
      for (const p of scenario.policies) await createPolicy({ name: `matrix ${i++}`, ...p });
      const letter = (id: string) => (Object.keys(servers) as Array<"A" | "B" | "C">).find((k) => servers[k].id === id);
      for (const role of ROLES) {
        const auth = callers[role].key;
        // discover, through REST and GraphQL
        const rest = await request(stack.url, "GET", "/v1/discovery/servers?limit=100", { auth });
        expect(rest.status).toBe(200);
        const restIds = rest.body.items.map((s: { id: string }) => s.id).sort();
        const gql = await graphql(stack.url, auth, DISCOVER_SERVERS, { explain: false });
        const gqlIds = gql.body.data?.discoverServers.items.map((s: { id: string }) => s.id).sort();
        expect(gqlIds).toEqual(restIds);
        expect(restIds).toEqual(await expected(role, "discover"));
        const want = scenario.discover[role];
        if (want) expect(restIds.map(letter).sort()).toEqual([...want].sort());

        // read: each server by id (NOT_FOUND when not readable) and the list
        const readable = await expected(role, "read");
        for (const s of ["A", "B"] as const) {
          const one = await request(stack.url, "GET", `/v1/mcp/servers/${servers[s].id}`, { auth });
          expect([role, s, one.status]).toEqual([role, s, readable.includes(servers[s].id) ? 200 : 404]);
          if (one.status === 404) expect(one.body.error.code).toBe("NOT_FOUND");
          const caps = await request(stack.url, "GET", `/v1/mcp/servers/${servers[s].id}/capabilities`, { auth });
          expect([role, s, "capabilities", caps.status]).toEqual([
            role,
            s,
            "capabilities",
            readable.includes(servers[s].id) ? 200 : 404,
          ]);
          const g = await graphql(stack.url, auth, `query($id: ID!) { mcpServer(id: $id) { id } }`, {
            id: servers[s].id,
          });
          if (readable.includes(servers[s].id)) expect(g.body.data?.mcpServer.id).toBe(servers[s].id);
          else expect(g.body.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
        }
        const list = await request(stack.url, "GET", "/v1/mcp/servers?limit=100", { auth });
        const listed = list.body.items.map((s: { id: string }) => s.id).filter((id: string) => id !== servers.C.id);
        expect(listed.sort()).toEqual(readable);
        const wantRead = scenario.read[role];
        if (wantRead) expect(readable.map(letter).sort()).toEqual([...wantRead].sort());
      }
    });
  }

  it("explains what discovery excluded: the deny policy, the closed default, an inactive server, review and disabled", async () => {
    const deny = await createPolicy({
      name: "no finance",
      effect: "deny",
      actions: ["discover"],
      subjects: { roles: ["developer"] },
      resources: { tags: ["finance"] },
    });
    const res = await request(stack.url, "GET", "/v1/discovery/servers?explain=true", { auth: callers.developer.key });
    expect(res.status).toBe(200);
    expect(res.body.items.map((s: { id: string }) => s.id)).toEqual([servers.B.id]);
    expect(res.body.excluded).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          serverId: servers.A.id,
          reason: "policy",
          policyId: deny.id,
          policyName: "no finance",
        }),
        expect.objectContaining({ serverId: servers.C.id, reason: "server_inactive", policyId: null }),
      ]),
    );
    expect(res.body.excluded).toHaveLength(2);
    const withoutExplain = await request(stack.url, "GET", "/v1/discovery/servers", { auth: callers.developer.key });
    expect(withoutExplain.body.excluded).toBeNull();

    const caps = await graphql(stack.url, callers.developer.key, DISCOVER_CAPABILITIES, { explain: true });
    const found = caps.body.data?.discoverCapabilities;
    expect(found.items.map((m: any) => m.capability.name).sort()).toEqual(["echo_text", "handbook"]);
    const reasons = Object.fromEntries(found.excluded.map((e: any) => [e.capabilityName, [e.reason, e.policyId]]));
    expect(reasons).toEqual({
      search_invoices: ["policy", deny.id],
      delete_invoice: ["policy", deny.id],
      held_tool: ["review_required", null],
      off_tool: ["capability_disabled", null],
      ops_restart: ["server_inactive", null],
    });

    await setDefault("closed");
    const closed = await request(stack.url, "GET", "/v1/discovery/servers?explain=true", { auth: callers.viewer.key });
    expect(closed.body.items).toEqual([]);
    expect(closed.body.excluded).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ serverId: servers.B.id, reason: "default_closed", policyId: null }),
      ]),
    );
  });

  it("hides only the capabilities a capability-scoped deny names, and lets a deny win over an allow", async () => {
    await setDefault("closed");
    await createPolicy({ name: "all", effect: "allow", actions: ["discover"], subjects: { roles: ["developer"] } });
    const deny = await createPolicy({
      name: "no deletes",
      effect: "deny",
      actions: ["discover"],
      subjects: { userIds: [callers.developer.userId] },
      resources: { capabilityNames: ["delete_*"], capabilityKinds: ["tool"] },
    });
    const servers_ = await request(stack.url, "GET", "/v1/discovery/servers", { auth: callers.developer.key });
    expect(servers_.body.items.map((s: { id: string }) => s.id).sort()).toEqual([servers.A.id, servers.B.id].sort());
    const caps = await request(stack.url, "GET", "/v1/discovery/capabilities?explain=true&limit=200", {
      auth: callers.developer.key,
    });
    expect(caps.body.items.map((m: any) => m.capability.name).sort()).toEqual([
      "echo_text",
      "handbook",
      "search_invoices",
    ]);
    expect(caps.body.excluded.find((e: any) => e.capabilityName === "delete_invoice")).toMatchObject({
      reason: "policy",
      policyId: deny.id,
    });
    // A server is not found through a capability hidden from the caller; the owner finds it.
    for (const filter of ["capability=delete", "q=delete_invoice"]) {
      const dev = await request(stack.url, "GET", `/v1/discovery/servers?${filter}`, { auth: callers.developer.key });
      expect([filter, dev.body.items]).toEqual([filter, []]);
    }
    await createPolicy({
      name: "owners see all",
      effect: "allow",
      actions: ["discover"],
      subjects: { roles: ["owner"] },
    });
    const owner = await request(stack.url, "GET", "/v1/discovery/servers?capability=delete", {
      auth: callers.owner.key,
    });
    expect(owner.body.items.map((s: { id: string }) => s.id)).toEqual([servers.A.id]);
    // A first page of one, which the walk over the index fills (two rows): the denied
    // delete_invoice, first in name order, is not it.
    const walked = await request(stack.url, "GET", "/v1/discovery/capabilities?limit=1", {
      auth: callers.developer.key,
    });
    expect(walked.body.items.map((m: any) => m.capability.name)).toEqual(["echo_text"]);
    expect(walked.body.nextCursor).not.toBeNull();
    // The name filter takes the index's walk: the policy is part of that statement too.
    const named = await request(stack.url, "GET", "/v1/discovery/capabilities?name=de", {
      auth: callers.developer.key,
    });
    expect(named.body.items.map((m: any) => m.capability.name)).toEqual([]);
  });

  it("filters servers in the walk over the index as in the ranked statement", async () => {
    const extra = [
      await seedServer("aa-walk-finance", "development", ["walk", "finance"], "active"),
      await seedServer("ab-walk-one", "development", ["walk"], "active"),
      await seedServer("ac-walk-two", "development", ["walk"], "active"),
    ];
    try {
      await createPolicy({
        name: "no finance",
        effect: "deny",
        actions: ["discover"],
        subjects: { roles: ["developer"] },
        resources: { tags: ["finance"] },
      });
      // limit=1: the walk finds two rows and answers; without the policy in it, aa-walk-finance came first.
      const page = await request(stack.url, "GET", "/v1/discovery/servers?tag=walk&limit=1", {
        auth: callers.developer.key,
      });
      expect(page.body.items.map((s: { name: string }) => s.name)).toEqual(["ab-walk-one"]);
      const all = await request(stack.url, "GET", "/v1/discovery/servers?tag=walk&limit=10", {
        auth: callers.developer.key,
      });
      expect(all.body.items.map((s: { name: string }) => s.name)).toEqual(["ab-walk-one", "ac-walk-two"]);
    } finally {
      await stack.db.mcpServer.deleteMany({ where: { id: { in: extra } } });
    }
  });

  it("applies a policy to an API key as its subject, and a change on the very next request", async () => {
    const key = await request(stack.url, "POST", "/auth/api-keys", {
      auth: callers.developer.key,
      body: { name: "agent", scopes: ["servers:read"] },
    });
    expect(key.status).toBe(201);
    const agent = key.body.key as string;
    const before = await request(stack.url, "GET", "/v1/discovery/servers", { auth: agent });
    expect(before.body.items).toHaveLength(2);
    const deny = await createPolicy({
      name: "agent only",
      effect: "deny",
      actions: ["discover"],
      subjects: { apiKeyIds: [key.body.apiKey.id] },
      resources: { serverIds: [servers.B.id] },
    });
    const after = await request(stack.url, "GET", "/v1/discovery/servers", { auth: agent });
    expect(after.body.items.map((s: { id: string }) => s.id)).toEqual([servers.A.id]);
    // The same user without that key is not a subject.
    const sameUser = await request(stack.url, "GET", "/v1/discovery/servers", { auth: callers.developer.key });
    expect(sameUser.body.items).toHaveLength(2);
    await request(stack.url, "DELETE", `/v1/policies/${deny.id}`, { auth: callers.admin.key });
    const restored = await request(stack.url, "GET", "/v1/discovery/servers", { auth: agent });
    expect(restored.body.items).toHaveLength(2);
  });

  it("reads a policy row written without its lists (NULL columns) as empty lists, and still decides", async () => {
    const rows = await stack.db.$queryRaw<Array<{ id: string }>>`
      INSERT INTO "Policy" (id, "organizationId", name, effect, actions, "subjectRoles", "updatedAt")
      VALUES (gen_random_uuid(), ${org.organizationId}::uuid, 'written by hand', 'deny', '{read}', '{viewer}', now())
      RETURNING id`;
    try {
      const set = await loadPolicySet(stack.db, org.organizationId);
      const row = set.policies.find((p) => p.id === rows[0]?.id);
      expect(row).toMatchObject({ serverIds: [], serverTags: [], environments: [], subjectUserIds: [] });
      // A deny with no resource condition matches every server, for its subjects only.
      const viewer = compilePolicies(set, { role: "viewer", userId: callers.viewer.userId, apiKeyId: null }, "read");
      expect(viewer.server(servers.A).allowed).toBe(false);
      const admin = compilePolicies(set, { role: "admin", userId: callers.admin.userId, apiKeyId: null }, "read");
      expect(admin.server(servers.A).allowed).toBe(true);
    } finally {
      await stack.db.$executeRaw`DELETE FROM "Policy" WHERE id = ${rows[0]?.id}::uuid`;
    }
  });

  it("lists the policies that apply to the caller and the default at /v1/discovery/policies", async () => {
    const mine = await createPolicy({
      name: "mine",
      effect: "deny",
      actions: ["read"],
      subjects: { roles: ["viewer"] },
    });
    const byUser = await createPolicy({
      name: "by user",
      effect: "allow",
      actions: ["discover"],
      subjects: { userIds: [callers.viewer.userId] },
    });
    await createPolicy({ name: "not mine", effect: "deny", actions: ["read"], subjects: { roles: ["developer"] } });
    await setDefault("closed");
    const res = await request(stack.url, "GET", "/v1/discovery/policies", { auth: callers.viewer.key });
    expect(res.status).toBe(200);
    expect(res.body.defaultAccess).toBe("closed");
    expect(res.body.items.map((p: { id: string }) => p.id)).toEqual([mine.id, byUser.id]);
    const gql = await graphql(
      stack.url,
      callers.developer.key,
      "{ discoveryPolicies { defaultAccess items { name } } }",
    );
    expect(gql.body.data?.discoveryPolicies).toEqual({ defaultAccess: "closed", items: [{ name: "not mine" }] });
  });
});

describe("the chat agent under policies", () => {
  let chat: Stack;
  let chatOrg: TestOrg;
  let tools: FixtureHandle;
  let toolsServerId: string;
  let developer: { userId: string; apiKey: string };
  const clients: Client[] = [];
  const EVENTS = `subscription($sessionId: ID!, $after: Int) {
    chatEvents(sessionId: $sessionId, after: $after) { turnId seq type toolCallId toolName result code errorMessage }
  }`;

  beforeAll(async () => {
    chat = await startStack({ CHAT_TOOL_TIMEOUT_SECONDS: "10" }, { worker: true });
    chatOrg = await createTestOrg(chat, "Policy chat");
    developer = await chatOrg.member("developer");
    tools = await startFixture("tools");
    const res = await request(chat.url, "POST", "/v1/mcp/servers", {
      auth: chatOrg.ownerKey,
      body: { name: "tools", baseUrl: tools.url },
    });
    toolsServerId = res.body.id;
    await waitFor("the discovery of the tools server", async () => {
      const s = await chat.db.mcpServer.findUniqueOrThrow({ where: { id: toolsServerId } });
      return s.discoveryStatus === "succeeded";
    });
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await Promise.resolve(client.dispose()).catch(() => undefined);
    await chat?.close();
    await tools?.close();
  });

  /** Deletes the chat organization's policies behind the API's back, announcing it as the API would. */
  async function clearChatPolicies() {
    await chat.db.policy.deleteMany({ where: { organizationId: chatOrg.organizationId } });
    await announceAccessChange(chat.redis, chatOrg.organizationId);
  }

  async function session(auth: string): Promise<{ id: string; feed: Collected }> {
    const res = await request(chat.url, "POST", "/v1/chat/sessions", { auth, body: { serverIds: [toolsServerId] } });
    expect(res.status).toBe(201);
    const client = connectWs(chat.url, auth);
    clients.push(client);
    return { id: res.body.id, feed: collect(client, EVENTS, { sessionId: res.body.id, after: 0 }) };
  }

  async function untilDone(feed: Collected) {
    await waitFor("the turn to finish", async () => feed.items.some((e) => e.type === "done"), 30_000);
    return feed.items;
  }

  it("does not offer the model a tool the caller may not call, and offers it to a caller who may", async () => {
    const policy = await request(chat.url, "POST", "/v1/policies", {
      auth: chatOrg.ownerKey,
      body: {
        name: "developers do not add",
        effect: "deny",
        actions: ["call_tool"],
        subjects: { roles: ["developer"] },
        resources: { capabilityNames: ["add"] },
      },
    });
    expect(policy.status).toBe(201);
    const dev = await session(developer.apiKey);
    await request(chat.url, "POST", `/v1/chat/sessions/${dev.id}/messages`, {
      auth: developer.apiKey,
      body: { content: 'echo {"text":"hi"} then add {"a":1,"b":2}' },
    });
    const events = await untilDone(dev.feed);
    // The local model calls the tools a message names among those it was offered: echo only.
    expect(events.filter((e) => e.type === "tool_call_started").map((e) => e.toolName)).toEqual(["echo"]);
    const calls = await chat.db.chatToolCall.findMany({ where: { sessionId: dev.id } });
    expect(calls.map((c) => c.toolName)).toEqual(["echo"]);

    const owner = await session(chatOrg.ownerKey);
    await request(chat.url, "POST", `/v1/chat/sessions/${owner.id}/messages`, {
      auth: chatOrg.ownerKey,
      body: { content: 'add {"a":1,"b":2}' },
    });
    const ownerEvents = await untilDone(owner.feed);
    expect(ownerEvents.find((e) => e.type === "tool_call_finished")).toMatchObject({ toolName: "add" });
    await clearChatPolicies();
  }, 60_000);

  it("hides a server the caller may not read from their chat sessions, and refuses it in a new session", async () => {
    const before = await session(developer.apiKey);
    const policy = await request(chat.url, "POST", "/v1/policies", {
      auth: chatOrg.ownerKey,
      body: {
        name: "developers do not read tools",
        effect: "deny",
        actions: ["read"],
        subjects: { roles: ["developer"] },
        resources: { serverIds: [toolsServerId] },
      },
    });
    expect(policy.status).toBe(201);
    try {
      // The session keeps the id it was made with; the server itself is not shown.
      const read = await graphql(
        chat.url,
        developer.apiKey,
        "query($id: ID!) { chatSession(id: $id) { serverIds servers { id name } } }",
        {
          id: before.id,
        },
      );
      expect(read.body.errors).toBeUndefined();
      expect(read.body.data.chatSession).toEqual({ serverIds: [toolsServerId], servers: [] });
      expect(
        (await request(chat.url, "GET", `/v1/mcp/servers/${toolsServerId}`, { auth: developer.apiKey })).status,
      ).toBe(404);
      const refused = await request(chat.url, "POST", "/v1/chat/sessions", {
        auth: developer.apiKey,
        body: { serverIds: [toolsServerId] },
      });
      expect(refused.status).toBe(422);
      expect(refused.body.error.details.serverIds).toEqual([toolsServerId]);
      // The owner, whom no policy names, still sees it.
      const owner = await graphql(
        chat.url,
        chatOrg.ownerKey,
        "query($id: ID!) { chatSession(id: $id) { servers { id } } }",
        {
          id: (await session(chatOrg.ownerKey)).id,
        },
      );
      expect(owner.body.data.chatSession.servers).toEqual([{ id: toolsServerId }]);
    } finally {
      await clearChatPolicies();
    }
  }, 60_000);

  it("refuses, and stores as failed with FORBIDDEN, a call that a policy created while it awaited approval denies", async () => {
    const owner = await session(chatOrg.ownerKey);
    await request(chat.url, "POST", `/v1/chat/sessions/${owner.id}/messages`, {
      auth: chatOrg.ownerKey,
      body: { content: 'delete_item {"id":"7"}' },
    });
    await waitFor("approval_required", async () => owner.feed.items.find((e) => e.type === "approval_required"));
    const asked = owner.feed.items.find((e) => e.type === "approval_required");
    const policy = await request(chat.url, "POST", "/v1/policies", {
      auth: chatOrg.ownerKey,
      body: {
        name: "nobody deletes",
        effect: "deny",
        actions: ["call_tool"],
        subjects: { roles: ["owner", "admin", "developer", "viewer"] },
        resources: { capabilityNames: ["delete_*"], capabilityKinds: ["tool"] },
      },
    });
    expect(policy.status).toBe(201);
    const approved = await request(
      chat.url,
      "POST",
      `/v1/chat/sessions/${owner.id}/tool-calls/${asked.toolCallId}/approval`,
      { auth: chatOrg.ownerKey, body: { approve: true } },
    );
    expect(approved.status).toBe(200);
    const events = await untilDone(owner.feed);
    expect(events.some((e) => e.type === "tool_call_started")).toBe(false);
    expect(events.find((e) => e.type === "tool_call_failed")).toMatchObject({
      toolCallId: asked.toolCallId,
      toolName: "delete_item",
      code: "FORBIDDEN",
      errorMessage: 'Refused by the access policy "nobody deletes"',
    });
    const stored = await chat.db.chatToolCall.findUniqueOrThrow({ where: { id: asked.toolCallId } });
    expect(stored).toMatchObject({ status: "failed", error: 'Refused by the access policy "nobody deletes"' });
    expect(stored.result).toBeNull();
    await clearChatPolicies();
  }, 60_000);
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { INTERNAL_TOKEN_HEADER, InternalTokenSigner, ROLE_SCOPES, type Role, type Scope } from "@sprintconnect/core";
import { Kind, parse } from "graphql";
import { graphql, request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";

let stack: Stack;
let org: TestOrg;
let other: TestOrg;
let serverId: string;
let capabilityId: string;
let otherServerId: string;
let otherCapabilityId: string;
let otherSessionId: string;
const callers: Record<string, { key: string; token: string }> = {};

async function seedServer(o: TestOrg, name: string): Promise<{ serverId: string; capabilityId: string }> {
  const res = await request(stack.url, "POST", "/v1/mcp/servers", {
    auth: o.ownerKey,
    body: { name, baseUrl: "http://authz.example.com/mcp" },
  });
  const cap = await stack.db.mcpCapability.create({
    data: {
      organizationId: o.organizationId,
      serverId: res.body.id,
      kind: "tool",
      name: "tool",
      definition: {},
      definitionHash: "d".repeat(64),
    },
  });
  return { serverId: res.body.id, capabilityId: cap.id };
}

beforeAll(async () => {
  stack = await startStack();
  org = await createTestOrg(stack, "Authz");
  other = await createTestOrg(stack, "Other");
  ({ serverId, capabilityId } = await seedServer(org, "mine"));
  ({ serverId: otherServerId, capabilityId: otherCapabilityId } = await seedServer(other, "theirs"));
  otherSessionId = (
    await request(stack.url, "POST", "/v1/chat/sessions", {
      auth: other.ownerKey,
      body: { serverIds: [otherServerId] },
    })
  ).body.id;
  for (const role of ["owner", "admin", "developer", "viewer"] as Role[]) {
    const m = await org.member(role);
    callers[role] = { key: m.apiKey, token: m.token };
  }
});
afterAll(() => stack.close());

const gql = async (auth: string, query: string) => (await graphql(stack.url, auth, query)).body;

type Op = { name: string; method: string; path: () => string; body?: () => unknown; allowed: Role[]; ok: number };
const ALL: Role[] = ["owner", "admin", "developer", "viewer"];
const WRITERS: Role[] = ["owner", "admin", "developer"];

let n = 0;
const ops: Op[] = [
  { name: "list servers", method: "GET", path: () => "/v1/mcp/servers", allowed: ALL, ok: 200 },
  { name: "get server", method: "GET", path: () => `/v1/mcp/servers/${serverId}`, allowed: ALL, ok: 200 },
  { name: "server health", method: "GET", path: () => `/v1/mcp/servers/${serverId}/health`, allowed: ALL, ok: 200 },
  {
    name: "capabilities",
    method: "GET",
    path: () => `/v1/mcp/servers/${serverId}/capabilities`,
    allowed: ALL,
    ok: 200,
  },
  {
    name: "register server",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: () => ({ name: `authz-${n++}`, baseUrl: "http://authz.example.com/mcp" }),
    allowed: WRITERS,
    ok: 201,
  },
  {
    name: "update server",
    method: "PATCH",
    path: () => `/v1/mcp/servers/${serverId}`,
    body: () => ({ description: `d${n++}` }),
    allowed: WRITERS,
    ok: 200,
  },
  {
    name: "update capability",
    method: "PATCH",
    path: () => `/v1/mcp/capabilities/${capabilityId}`,
    body: () => ({ enabled: true }),
    allowed: WRITERS,
    ok: 200,
  },
  {
    name: "review capability (clear reviewRequired)",
    method: "PATCH",
    path: () => `/v1/mcp/capabilities/${capabilityId}`,
    body: () => ({ reviewRequired: false }),
    allowed: ["owner", "admin"],
    ok: 200,
  },
  { name: "me", method: "GET", path: () => "/auth/me", allowed: ALL, ok: 200 },
  {
    name: "create api key",
    method: "POST",
    path: () => "/auth/api-keys",
    body: () => ({ name: `k${n++}`, scopes: ["servers:read"] }),
    allowed: WRITERS,
    ok: 201,
  },
  { name: "audit logs", method: "GET", path: () => "/v1/audit/logs", allowed: ["owner", "admin"], ok: 200 },
  { name: "list webhooks", method: "GET", path: () => "/v1/webhooks", allowed: ["owner", "admin"], ok: 200 }, // webhooks (issue 10)
  { name: "list chat sessions", method: "GET", path: () => "/v1/chat/sessions", allowed: ALL, ok: 200 },
  {
    name: "create chat session",
    method: "POST",
    path: () => "/v1/chat/sessions",
    body: () => ({ serverIds: [serverId] }),
    allowed: WRITERS,
    ok: 201,
  },
  // ---- access policies (issue 9) ----
  { name: "list policies", method: "GET", path: () => "/v1/policies", allowed: ["owner", "admin"], ok: 200 },
  {
    name: "create policy",
    method: "POST",
    path: () => "/v1/policies",
    // A policy that changes nothing for the matrix: it denies reading a server id that does not exist.
    body: () => ({
      name: `authz-${n++}`,
      effect: "deny",
      actions: ["read"],
      subjects: { roles: ["viewer"] },
      resources: { serverIds: ["00000000-0000-4000-8000-000000000000"] },
    }),
    allowed: ["owner", "admin"],
    ok: 201,
  },
  { name: "policies that apply to me", method: "GET", path: () => "/v1/discovery/policies", allowed: ALL, ok: 200 },
  // ---- end access policies ----
];

describe("the authorization matrix", () => {
  for (const op of ops) {
    for (const role of ALL) {
      const expected = op.allowed.includes(role) ? op.ok : 403;
      it(`answers ${expected} to a ${role} for ${op.name}, by API key and by JWT`, async () => {
        for (const auth of [callers[role]!.key, callers[role]!.token]) {
          const res = await request(stack.url, op.method, op.path(), { auth, body: op.body?.() });
          expect({ status: res.status, code: res.body?.error?.code }).toEqual({
            status: expected,
            code: expected === 403 ? "FORBIDDEN" : undefined,
          });
        }
      });
    }
    it(`answers 401 UNAUTHENTICATED without credentials for ${op.name}`, async () => {
      const res = await request(stack.url, op.method, op.path(), { body: op.body?.() });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHENTICATED");
    });
  }

  // Operations that only GraphQL offers. A refused root field leaves no data, so the HTTP
  // status follows the error code here too.
  const graphqlOps: Array<{ name: string; query: () => string; allowed: Role[] }> = [
    { name: "usageEvents", query: () => "{ usageEvents(limit: 1) { nextCursor } }", allowed: ALL },
    { name: "members", query: () => "{ members(limit: 1) { nextCursor } }", allowed: ALL },
    { name: "organization", query: () => "{ organization { id } }", allowed: ALL },
    { name: "apiKeys", query: () => "{ apiKeys(limit: 1) { nextCursor } }", allowed: WRITERS },
    { name: "verifyAuditLog", query: () => "{ verifyAuditLog { ok } }", allowed: ["owner", "admin"] },
    {
      name: "addMember",
      query: () => `mutation { addMember(input: { email: "m${n++}@example.test", role: viewer }) { id } }`,
      allowed: ["owner", "admin"],
    },
    {
      name: "updateOrganizationSettings",
      query: () => "mutation { updateOrganizationSettings(input: { holdNewCapabilitiesForReview: true }) { id } }",
      allowed: ["owner"],
    },
    { name: "discoverServers", query: () => "{ discoverServers(limit: 1) { nextCursor } }", allowed: ALL },
    { name: "discoverCapabilities", query: () => "{ discoverCapabilities(limit: 1) { nextCursor } }", allowed: ALL },
    {
      name: "discoverMcpServer",
      query: () => `mutation { discoverMcpServer(id: "${serverId}") { jobId } }`,
      allowed: WRITERS,
    },
  ];
  for (const op of graphqlOps) {
    for (const role of ALL) {
      const allowed = op.allowed.includes(role);
      it(`${allowed ? "allows" : "refuses with FORBIDDEN"} ${op.name} over GraphQL for a ${role}`, async () => {
        const res = await request(stack.url, "POST", "/graphql", {
          auth: callers[role]!.key,
          body: { query: op.query() },
        });
        if (allowed) {
          expect(res.body.errors).toBeUndefined();
          expect(res.status).toBe(200);
        } else {
          expect(res.status).toBe(403);
          expect(res.body.errors[0].extensions.code).toBe("FORBIDDEN");
        }
      });
    }
  }

  it("limits an API key to its own narrower scopes", async () => {
    const owner = await org.member("owner", ["servers:read"]);
    expect((await request(stack.url, "GET", "/v1/mcp/servers", { auth: owner.apiKey })).status).toBe(200);
    const write = await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: owner.apiKey,
      body: { name: "narrow", baseUrl: "http://n.example.com" },
    });
    expect(write.status).toBe(403);
    expect((await request(stack.url, "GET", "/v1/audit/logs", { auth: owner.apiKey })).status).toBe(403);
    expect((await request(stack.url, "GET", "/v1/chat/sessions", { auth: owner.apiKey })).status).toBe(403);
  });

  it("refuses to create a key with scopes wider than the caller's", async () => {
    const res = await request(stack.url, "POST", "/auth/api-keys", {
      auth: callers.developer!.key,
      body: { name: "escalate", scopes: ["audit:read"] },
    });
    expect(res.status).toBe(403);
  });

  // Grants are decided by the caller's effective scopes, not its role: an owner's key narrowed
  // to members:manage is not an owner when it comes to granting.
  const grantOps: Array<{
    name: string;
    run: (auth: string) => Promise<{ errors?: Array<{ extensions?: Record<string, any> }> }>;
    allowed: Array<"owner" | "narrowed owner key" | "admin">;
  }> = [
    {
      name: "add a member as owner",
      run: (auth) => gql(auth, `mutation { addMember(input: { email: "g${n++}@example.test", role: owner }) { id } }`),
      allowed: ["owner"],
    },
    {
      name: "add a member as admin",
      run: (auth) => gql(auth, `mutation { addMember(input: { email: "g${n++}@example.test", role: admin }) { id } }`),
      allowed: ["owner", "admin"],
    },
    {
      name: "promote a viewer to owner",
      run: async (auth) => {
        const { userId } = await org.member("viewer");
        return gql(auth, `mutation { updateMemberRole(userId: "${userId}", role: owner) { role } }`);
      },
      allowed: ["owner"],
    },
    {
      name: "demote an owner",
      run: async (auth) => {
        const { userId } = await org.member("owner");
        return gql(auth, `mutation { updateMemberRole(userId: "${userId}", role: viewer) { role } }`);
      },
      allowed: ["owner"],
    },
    {
      name: "remove an owner",
      run: async (auth) => {
        const { userId } = await org.member("owner");
        return gql(auth, `mutation { removeMember(userId: "${userId}") }`);
      },
      allowed: ["owner"],
    },
  ];
  for (const op of grantOps) {
    for (const caller of ["owner", "narrowed owner key", "admin"] as const) {
      const allowed = op.allowed.includes(caller);
      it(`${allowed ? "lets" : "refuses with FORBIDDEN"} an ${caller} ${op.name}`, async () => {
        const auth =
          caller === "owner"
            ? callers.owner!.key
            : caller === "admin"
              ? callers.admin!.key
              : (await org.member("owner", ["members:manage", "org:read"])).apiKey;
        const result = await op.run(auth);
        if (allowed) expect(result.errors).toBeUndefined();
        else expect(result.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
      });
    }
  }

  it("creates a key with only the scopes of the key that creates it, and refuses any other", async () => {
    const narrowed = (await org.member("owner", ["servers:read", "api_keys:write"])).apiKey;
    const created = await request(stack.url, "POST", "/auth/api-keys", { auth: narrowed, body: { name: "child" } });
    expect(created.status).toBe(201);
    expect([...created.body.apiKey.scopes].sort()).toEqual(["api_keys:write", "servers:read"]);
    const wider = await request(stack.url, "POST", "/auth/api-keys", {
      auth: narrowed,
      body: { name: "wider", scopes: ["servers:read", "org:manage"] },
    });
    expect(wider.status).toBe(403);
    expect(wider.body.error.code).toBe("FORBIDDEN");
  });

  const foreign: Array<[string, string, () => string, () => unknown]> = [
    ["get server", "GET", () => `/v1/mcp/servers/${otherServerId}`, () => undefined],
    ["update server", "PATCH", () => `/v1/mcp/servers/${otherServerId}`, () => ({ description: "x" })],
    ["delete server", "DELETE", () => `/v1/mcp/servers/${otherServerId}`, () => undefined],
    ["capabilities", "GET", () => `/v1/mcp/servers/${otherServerId}/capabilities`, () => undefined],
    ["health", "GET", () => `/v1/mcp/servers/${otherServerId}/health`, () => undefined],
    ["update capability", "PATCH", () => `/v1/mcp/capabilities/${otherCapabilityId}`, () => ({ enabled: false })],
    ["get chat session", "GET", () => `/v1/chat/sessions/${otherSessionId}`, () => undefined],
    ["delete chat session", "DELETE", () => `/v1/chat/sessions/${otherSessionId}`, () => undefined],
  ];
  for (const [name, method, path, body] of foreign) {
    it(`answers NOT_FOUND for another organization's resource: ${name}`, async () => {
      const res = await request(stack.url, method, path(), { auth: org.ownerKey, body: body() });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("NOT_FOUND");
    });
  }

  it("leaves the other organization's server untouched", async () => {
    const row = await stack.db.mcpServer.findUniqueOrThrow({ where: { id: otherServerId } });
    expect(row.deletedAt).toBeNull();
    expect(row.description).toBeNull();
    expect((await stack.db.mcpCapability.findUniqueOrThrow({ where: { id: otherCapabilityId } })).enabled).toBe(true);
  });

  it("refuses a chat session over another organization's server", async () => {
    const res = await request(stack.url, "POST", "/v1/chat/sessions", {
      auth: org.ownerKey,
      body: { serverIds: [otherServerId] },
    });
    expect(res.status).toBe(422);
  });

  describe("entity references", () => {
    /**
     * The scope of the root fields that read each entity type. A new entity in the supergraph
     * that is missing here fails the first test: add it, and give its reference resolver the
     * same scopes.
     */
    const ENTITY_SCOPES: Record<string, Scope> = {
      McpServer: "servers:read",
      McpCapability: "servers:read",
      ChatSession: "chat:read",
      UsageEvent: "metrics:read",
      Organization: "org:read",
    };

    /** (type, subgraph) of every resolvable `@key` in the committed supergraph. */
    function supergraphEntities(): Array<{ type: string; subgraph: string }> {
      const sdl = readFileSync(join(__dirname, "..", "schema", "supergraph.graphql"), "utf8");
      const found: Array<{ type: string; subgraph: string }> = [];
      for (const match of sdl.matchAll(/^type (\w+)((?:\s+@[^\n]+)+)\n?\{/gm)) {
        const [, type, directives] = match as unknown as [string, string, string];
        for (const join of directives.matchAll(/@join__type\(graph: (\w+), key: "[^"]*"([^)]*)\)/g)) {
          if (!/resolvable: false/.test(join[2] ?? "")) found.push({ type, subgraph: (join[1] ?? "").toLowerCase() });
        }
      }
      return found;
    }

    const ids: Record<string, () => string> = {};
    const signer = () => new InternalTokenSigner(stack.keys);

    beforeAll(async () => {
      const session = await request(stack.url, "POST", "/v1/chat/sessions", {
        auth: org.ownerKey,
        body: { serverIds: [serverId] },
      });
      const usage = await stack.db.usageEvent.create({
        data: { organizationId: org.organizationId, kind: "tool_call" },
      });
      Object.assign(ids, {
        McpServer: () => serverId,
        McpCapability: () => capabilityId,
        ChatSession: () => session.body.id,
        UsageEvent: () => usage.id,
        Organization: () => org.organizationId,
      });
    });

    /** `_entities` straight at the subgraph, as the gateway asks it, for a principal with `scopes`. */
    async function entities(subgraph: string, type: string, scopes: Scope[]) {
      const token = await signer().sign({
        organizationId: org.organizationId,
        userId: org.ownerId,
        apiKeyId: null,
        role: "owner",
        scopes,
        authMethod: "api_key",
      });
      const res = await fetch(stack.subgraphUrls[subgraph]!, {
        method: "POST",
        headers: { "content-type": "application/json", [INTERNAL_TOKEN_HEADER]: token },
        body: JSON.stringify({
          query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on ${type} { id } } }`,
          variables: { r: [{ __typename: type, id: ids[type]!() }] },
        }),
      });
      return (await res.json()) as { data?: { _entities: Array<{ id: string } | null> }; errors?: any[] };
    }

    it("knows the scope of every entity type the supergraph can resolve", () => {
      const types = [...new Set(supergraphEntities().map((e) => e.type))].sort();
      expect(types.length).toBeGreaterThan(0);
      expect(types).toEqual(Object.keys(ENTITY_SCOPES).sort());
    });

    for (const { type, subgraph } of supergraphEntities()) {
      it(`refuses to resolve a ${type} reference in ${subgraph} with FORBIDDEN for a caller without ${ENTITY_SCOPES[type] ?? "its scope"}, and resolves it with that scope`, async () => {
        const required = ENTITY_SCOPES[type];
        expect(required).toBeDefined();
        const others = ROLE_SCOPES.owner.filter((s) => s !== required);
        const refused = await entities(subgraph, type, others);
        expect(refused.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
        expect(refused.data?._entities?.[0] ?? null).toBeNull();
        const allowed = await entities(subgraph, type, [required!]);
        expect(allowed.errors).toBeUndefined();
        expect(allowed.data?._entities[0]).toEqual({ id: ids[type]!() });
      });
    }

    for (const subgraph of ["registry", "chat", "metrics", "admin"]) {
      it(`serves _service from the ${subgraph} subgraph, with the @key of every entity it resolves`, async () => {
        const res = await fetch(stack.subgraphUrls[subgraph]!, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "{ _service { sdl } }" }),
        });
        const body = (await res.json()) as { data?: { _service: { sdl: string } }; errors?: unknown[] };
        expect(body.errors).toBeUndefined();
        // The gateway's composition reads each entity's @key from it.
        const keyed = parse(body.data?._service.sdl ?? "")
          .definitions.filter((d) => d.kind === Kind.OBJECT_TYPE_DEFINITION)
          .filter((d) => d.directives?.some((directive) => directive.name.value === "key"))
          .map((d) => d.name.value);
        const owned = supergraphEntities().filter((e) => e.subgraph === subgraph);
        expect(owned.length).toBeGreaterThan(0);
        for (const { type } of owned) expect(keyed).toContain(type);
      });
    }

    it("answers FORBIDDEN, not the server's address, to a chat-only key that selects servers through a chat session", async () => {
      const chatOnly = await org.member("developer", ["chat:read", "chat:write"]);
      const res = await request(stack.url, "POST", "/graphql", {
        auth: chatOnly.apiKey,
        body: {
          query: `mutation($s: [ID!]!) { createChatSession(input: { serverIds: $s }) {
            id servers { id baseUrl metadata credentials { kind } discovery { status } }
          } }`,
          variables: { s: [serverId] },
        },
      });
      expect(res.body.errors[0].extensions.code).toBe("FORBIDDEN");
      expect(JSON.stringify(res.body)).not.toContain("authz.example.com");
      const mine = await request(stack.url, "POST", "/graphql", {
        auth: chatOnly.apiKey,
        body: { query: "{ chatSessions(limit: 1) { items { servers { name } } } }" },
      });
      expect(mine.body.errors[0].extensions.code).toBe("FORBIDDEN");
      expect(JSON.stringify(mine.body)).not.toContain('"name"');
    });
  });
});

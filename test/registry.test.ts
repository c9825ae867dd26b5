import { graphql, request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";

const SERVER_FIELDS = `id name description baseUrl transport environment tags metadata status
  health { status lastCheckedAt latencyMs }
  discovery { status lastDiscoveredAt error protocolVersion serverInfo capabilities instructions }
  credentials { kind headerNames origin updatedAt } credentialsDropped createdAt updatedAt`;

let stack: Stack;
let org: TestOrg;

beforeAll(async () => {
  stack = await startStack();
  org = await createTestOrg(stack);
});
afterAll(() => stack.close());

const register = (body: Record<string, unknown>, auth = org.ownerKey) =>
  request(stack.url, "POST", "/v1/mcp/servers", { auth, body });

describe("the MCP server registry over REST and GraphQL", () => {
  it("registers a server and returns it with every documented field", async () => {
    const res = await register({
      name: "weather",
      description: "Forecasts",
      baseUrl: "https://mcp.example.com/mcp",
      transport: "sse",
      environment: "staging",
      tags: ["Weather", "public"],
      metadata: { team: "climate" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: "weather",
      description: "Forecasts",
      baseUrl: "https://mcp.example.com/mcp",
      transport: "sse",
      environment: "staging",
      tags: ["weather", "public"],
      metadata: { team: "climate" },
      status: "active",
      health: { status: "unknown", lastCheckedAt: null, latencyMs: null },
      // Registration queues the first discovery; no worker runs in this file.
      discovery: { status: "pending", lastDiscoveredAt: null, error: null, protocolVersion: null },
      credentials: null,
    });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(res.body.createdAt).toString()).not.toBe("Invalid Date");
  });

  it("answers every REST read with the same data as its GraphQL twin", async () => {
    const created = (await register({ name: "twin", baseUrl: "http://twin.example.com/mcp", tags: ["twin"] })).body;
    const cap = await stack.db.mcpCapability.create({
      data: {
        organizationId: org.organizationId,
        serverId: created.id,
        kind: "tool",
        name: "get_forecast",
        description: "Forecast for a city",
        inputSchema: { type: "object", properties: { city: { type: "string" } } },
        definition: { name: "get_forecast" },
        definitionHash: "a".repeat(64),
      },
    });

    const pairs: Array<[string, string, Record<string, unknown>, string]> = [
      [
        `/v1/mcp/servers/${created.id}`,
        `query($id: ID!) { r: mcpServer(id: $id) { ${SERVER_FIELDS} } }`,
        { id: created.id },
        "r",
      ],
      [
        "/v1/mcp/servers?tag=twin&limit=5",
        `query { r: mcpServers(tag: "twin", limit: 5) { items { ${SERVER_FIELDS} } nextCursor } }`,
        {},
        "r",
      ],
      [
        `/v1/mcp/servers/${created.id}/capabilities`,
        `query($id: ID!) { r: mcpServerCapabilities(serverId: $id) { items { id serverId kind name title description inputSchema definition definitionHash enabled reviewRequired metadata createdAt updatedAt } nextCursor } }`,
        { id: created.id },
        "r",
      ],
      [
        `/v1/mcp/servers/${created.id}/health`,
        `query($id: ID!) { r: mcpServerHealth(id: $id) { serverId status lastCheckedAt latencyMs reason pendingStatus pendingCount history { result latencyMs error checkedAt } } }`,
        { id: created.id },
        "r",
      ],
      [
        "/auth/me",
        `query { r: me { user { id email name } organization { id name slug } role scopes authMethod apiKey { id name prefix scopes expiresAt revokedAt lastUsedAt createdAt userId } } }`,
        {},
        "r",
      ],
    ];
    for (const [path, query, variables, field] of pairs) {
      const rest = await request(stack.url, "GET", path, { auth: org.ownerKey });
      const gql = await graphql(stack.url, org.ownerKey, query, variables);
      expect(gql.body.errors).toBeUndefined();
      expect(rest.status).toBe(200);
      // lastUsedAt may move between the two calls; everything else must be identical.
      const strip = (v: any) => JSON.parse(JSON.stringify(v, (k, x) => (k === "lastUsedAt" ? undefined : x)));
      expect(strip(rest.body)).toEqual(strip(gql.body.data?.[field]));
    }
    const capabilities = (
      await request(stack.url, "GET", `/v1/mcp/servers/${created.id}/capabilities`, { auth: org.ownerKey })
    ).body;
    expect(capabilities.items).toHaveLength(1);
    expect(capabilities.items[0]).toMatchObject({ id: cap.id, kind: "tool", name: "get_forecast", enabled: true });
  });

  it("answers every REST write with the same data as its GraphQL twin", async () => {
    const viaRest = await register({ name: "rest-made", baseUrl: "http://a.example.com/mcp", tags: ["w"] });
    const viaGql = await graphql(
      stack.url,
      org.ownerKey,
      `mutation($input: RegisterMcpServerInput!) { registerMcpServer(input: $input) { ${SERVER_FIELDS} } }`,
      { input: { name: "gql-made", baseUrl: "http://a.example.com/mcp", tags: ["w"] } },
    );
    const a = viaRest.body;
    const b = viaGql.body.data?.registerMcpServer;
    const comparable = (s: any) => ({
      ...s,
      id: undefined,
      name: undefined,
      createdAt: undefined,
      updatedAt: undefined,
    });
    expect(comparable(a)).toEqual(comparable(b));

    const patched = await request(stack.url, "PATCH", `/v1/mcp/servers/${a.id}`, {
      auth: org.ownerKey,
      body: { description: "changed", environment: "production" },
    });
    expect(patched.status).toBe(200);
    const gqlPatched = await graphql(
      stack.url,
      org.ownerKey,
      `mutation($id: ID!, $input: UpdateMcpServerInput!) { updateMcpServer(id: $id, input: $input) { ${SERVER_FIELDS} } }`,
      { id: b.id, input: { description: "changed", environment: "production" } },
    );
    expect(comparable(patched.body)).toEqual(comparable(gqlPatched.body.data?.updateMcpServer));
    expect(patched.body).toMatchObject({ description: "changed", environment: "production", tags: ["w"] });
  });

  it("updates a capability's configuration through PATCH /v1/mcp/capabilities/{id}", async () => {
    const server = (await register({ name: "caps", baseUrl: "http://caps.example.com/mcp" })).body;
    const cap = await stack.db.mcpCapability.create({
      data: {
        organizationId: org.organizationId,
        serverId: server.id,
        kind: "prompt",
        name: "summarize",
        definition: { name: "summarize" },
        definitionHash: "b".repeat(64),
      },
    });
    const res = await request(stack.url, "PATCH", `/v1/mcp/capabilities/${cap.id}`, {
      auth: org.ownerKey,
      body: { enabled: false, metadata: { note: "noisy" } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: cap.id, enabled: false, metadata: { note: "noisy" } });
    expect((await stack.db.mcpCapability.findUniqueOrThrow({ where: { id: cap.id } })).enabled).toBe(false);
  });

  it("soft-deletes on DELETE: the server leaves lists and reads, its row and capabilities stay", async () => {
    const server = (await register({ name: "doomed", baseUrl: "http://d.example.com/mcp", tags: ["doomed"] })).body;
    await stack.db.mcpCapability.create({
      data: {
        organizationId: org.organizationId,
        serverId: server.id,
        kind: "tool",
        name: "t",
        definition: {},
        definitionHash: "c".repeat(64),
      },
    });
    const del = await request(stack.url, "DELETE", `/v1/mcp/servers/${server.id}`, { auth: org.ownerKey });
    expect(del.status).toBe(204);
    expect((await request(stack.url, "GET", `/v1/mcp/servers/${server.id}`, { auth: org.ownerKey })).status).toBe(404);
    const list = await request(stack.url, "GET", "/v1/mcp/servers?tag=doomed", { auth: org.ownerKey });
    expect(list.body.items).toEqual([]);
    const row = await stack.db.mcpServer.findUniqueOrThrow({ where: { id: server.id } });
    expect(row.deletedAt).not.toBeNull();
    expect(await stack.db.mcpCapability.count({ where: { serverId: server.id } })).toBe(1);
    // A second delete finds nothing; the name is free again.
    expect((await request(stack.url, "DELETE", `/v1/mcp/servers/${server.id}`, { auth: org.ownerKey })).status).toBe(
      404,
    );
    expect((await register({ name: "doomed", baseUrl: "http://d.example.com/mcp" })).status).toBe(201);
  });

  it("refuses a second live server with the same name as CONFLICT", async () => {
    expect((await register({ name: "unique-one", baseUrl: "http://u.example.com" })).status).toBe(201);
    const again = await register({ name: "Unique-One", baseUrl: "http://u.example.com" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("CONFLICT");
  });

  it("pages through a list with limit and cursor, newest first, without gaps or repeats", async () => {
    const tag = `page${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++)
      ids.push((await register({ name: `p-${tag}-${i}`, baseUrl: "http://p.example.com", tags: [tag] })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/mcp/servers?tag=${tag}&limit=3${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await request(stack.url, "GET", query, { auth: org.ownerKey });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((s: { id: string }) => s.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it("filters by environment, tag and free text", async () => {
    const tag = `f${Date.now()}`;
    await register({ name: `alpha-${tag}`, baseUrl: "http://f.example.com", environment: "production", tags: [tag] });
    await register({
      name: `beta-${tag}`,
      description: "has the word zebra",
      baseUrl: "http://f.example.com",
      tags: [tag],
    });
    const prod = await request(stack.url, "GET", `/v1/mcp/servers?tag=${tag}&environment=production`, {
      auth: org.ownerKey,
    });
    expect(prod.body.items.map((s: { name: string }) => s.name)).toEqual([`alpha-${tag}`]);
    const text = await request(stack.url, "GET", `/v1/mcp/servers?tag=${tag}&q=ZEBRA`, { auth: org.ownerKey });
    expect(text.body.items.map((s: { name: string }) => s.name)).toEqual([`beta-${tag}`]);
  });

  it("answers the selection, through fragments, aliases and @include, with credentials where selected", async () => {
    const own = await createTestOrg(stack, "Selections");
    const created = await register(
      { name: "selected", baseUrl: "https://selected.example.com/mcp", credentials: { bearerToken: "sel-s3cret" } },
      own.ownerKey,
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const credential = { kind: "bearer", origin: "https://selected.example.com" };

    const viaFragment = await graphql(
      stack.url,
      own.ownerKey,
      `query { mcpServers { page: items { ...F } } } fragment F on McpServer { key: id creds: credentials { kind origin } health { status } }`,
    );
    expect(viaFragment.body.data.mcpServers.page).toEqual([
      { key: id, creds: credential, health: { status: "unknown" } },
    ]);

    const inline = await graphql(
      stack.url,
      own.ownerKey,
      `query($id: ID!, $with: Boolean!) { mcpServer(id: $id) { name ... on McpServer @include(if: $with) { credentials { kind origin } } } }`,
      { id, with: true },
    );
    expect(inline.body.data.mcpServer).toEqual({ name: "selected", credentials: credential });

    const nameOnly = await graphql(stack.url, own.ownerKey, `{ mcpServers { items { name } nextCursor } }`);
    expect(nameOnly.body).toEqual({ data: { mcpServers: { items: [{ name: "selected" }], nextCursor: null } } });
    // Nothing of the secret is ever read into a response.
    expect(JSON.stringify([viaFragment.body, inline.body])).not.toContain("sel-s3cret");
  });

  it("records each registry mutation in the outbox in the same transaction", async () => {
    const server = (await register({ name: "evented", baseUrl: "http://e.example.com" })).body;
    await request(stack.url, "PATCH", `/v1/mcp/servers/${server.id}`, { auth: org.ownerKey, body: { tags: ["x"] } });
    await request(stack.url, "DELETE", `/v1/mcp/servers/${server.id}`, { auth: org.ownerKey });
    const events = await stack.db.event.findMany({ where: { aggregateId: server.id }, orderBy: { createdAt: "asc" } });
    expect(events.map((e) => e.type)).toEqual(["server.registered", "server.updated", "server.deregistered"]);
    expect(events.every((e) => e.organizationId === org.organizationId)).toBe(true);
  });
});

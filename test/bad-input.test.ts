import { request } from "./support/http";
import { createTestOrg, type Stack, startStack, type TestOrg } from "./support/stack";

let stack: Stack;
let org: TestOrg;
let serverId: string;

beforeAll(async () => {
  // One live server ("keep") is the organization's limit: registering another is LIMIT_EXCEEDED.
  stack = await startStack({ MAX_BODY_BYTES: "4096", MAX_SERVERS_PER_ORGANIZATION: "1" });
  org = await createTestOrg(stack, "Bad input");
  serverId = (
    await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: org.ownerKey,
      body: { name: "keep", baseUrl: "http://keep.example.com/mcp", tags: ["keep"] },
    })
  ).body.id;
});
afterAll(() => stack.close());

async function snapshot() {
  const where = { organizationId: org.organizationId };
  return {
    servers: await stack.db.mcpServer.findMany({ where, orderBy: { id: "asc" } }),
    audit: await stack.db.auditLog.count({ where }),
    events: await stack.db.event.count({ where }),
  };
}

const cases: Array<{
  name: string;
  method: string;
  path: () => string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
}> = [
  {
    name: "malformed JSON",
    method: "POST",
    path: () => "/v1/mcp/servers",
    raw: '{"name": "x", ',
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a JSON array body",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: [1, 2],
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "an empty JSON body",
    method: "POST",
    path: () => "/v1/mcp/servers",
    raw: "",
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a non-JSON content type",
    method: "POST",
    path: () => "/v1/mcp/servers",
    raw: "name=x",
    headers: { "content-type": "text/plain" },
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a missing required field",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x" },
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a wrong type",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: 42, baseUrl: "http://x.example.com" },
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "tags that are not a list of strings",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "http://x.example.com", tags: [{}] },
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "an unknown field",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "http://x.example.com", owner: "me" },
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "an unknown enum value",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "http://x.example.com", environment: "prod" },
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "metadata that is not an object",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "http://x.example.com", metadata: "str" },
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a baseUrl that is not a URL",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "not a url" },
    status: 422,
    code: "VALIDATION_FAILED",
  },
  {
    name: "a file: baseUrl",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "file:///etc/passwd" },
    status: 422,
    code: "VALIDATION_FAILED",
  },
  {
    name: "a javascript: baseUrl",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "javascript:alert(1)" },
    status: 422,
    code: "VALIDATION_FAILED",
  },
  {
    name: "a baseUrl with credentials",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "http://u:p@x.example.com" },
    status: 422,
    code: "VALIDATION_FAILED",
  },
  {
    name: "an empty name",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "  ", baseUrl: "http://x.example.com" },
    status: 422,
    code: "VALIDATION_FAILED",
  },
  {
    name: "a bad tag",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "http://x.example.com", tags: ["has space"] },
    status: 422,
    code: "VALIDATION_FAILED",
  },
  {
    name: "an oversized body",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "http://x.example.com", description: "y".repeat(10_000) },
    status: 413,
    code: "PAYLOAD_TOO_LARGE",
  },
  {
    name: "a bad baseUrl on update",
    method: "PATCH",
    path: () => `/v1/mcp/servers/${serverId}`,
    body: { baseUrl: "ftp://x.example.com" },
    status: 422,
    code: "VALIDATION_FAILED",
  },
  {
    name: "an unknown field on update",
    method: "PATCH",
    path: () => `/v1/mcp/servers/${serverId}`,
    body: { deletedAt: "2020-01-01" },
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a bad cursor",
    method: "GET",
    path: () => "/v1/mcp/servers?cursor=not-a-cursor",
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a forged cursor",
    method: "GET",
    path: () => `/v1/mcp/servers?cursor=${Buffer.from('{"t":"x","id":1}').toString("base64url")}`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a limit that is not a number",
    method: "GET",
    path: () => "/v1/mcp/servers?limit=ten",
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a limit out of range",
    method: "GET",
    path: () => "/v1/mcp/servers?limit=1000",
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "an unknown query parameter",
    method: "GET",
    path: () => "/v1/mcp/servers?colour=red",
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "an id that is not a UUID",
    method: "GET",
    path: () => "/v1/mcp/servers/not-a-uuid",
    status: 404,
    code: "NOT_FOUND",
  },
  { name: "an unknown route", method: "GET", path: () => "/v1/nothing-here", status: 404, code: "NOT_FOUND" },
  {
    name: "a server beyond MAX_SERVERS_PER_ORGANIZATION",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "one too many", baseUrl: "http://x.example.com/mcp" },
    status: 422,
    code: "LIMIT_EXCEEDED",
  },
];

describe("bad input", () => {
  for (const c of cases) {
    it(`answers ${c.status} ${c.code} to ${c.name}, with a request id, and changes nothing`, async () => {
      const before = await snapshot();
      const res = await request(stack.url, c.method, c.path(), {
        auth: org.ownerKey,
        body: c.body,
        rawBody: c.raw,
        headers: c.headers,
      });
      expect(res.status).toBe(c.status);
      expect(res.body.error.code).toBe(c.code);
      expect(typeof res.body.error.message).toBe("string");
      expect(res.body.error.requestId).toBe(res.headers.get("x-request-id"));
      expect(JSON.stringify(res.body)).not.toMatch(/\bat \S+\.(js|ts):\d+/); // no stack traces
      expect(await snapshot()).toEqual(before);
    });
  }

  it("names every invalid field in one VALIDATION_FAILED", async () => {
    const res = await request(stack.url, "POST", "/v1/mcp/servers", {
      auth: org.ownerKey,
      body: { name: "", baseUrl: "gopher://x", tags: ["ok", "not ok"] },
    });
    expect(res.status).toBe(422);
    const fields = res.body.error.details.fields.map((f: { field: string }) => f.field);
    expect(fields).toEqual(expect.arrayContaining(["name", "baseUrl", "tags.1"]));
  });

  it("answers malformed GraphQL with BAD_REQUEST, never a 500", async () => {
    for (const query of ["{ mcpServers {", "{ nope }", 'query { mcpServers(limit: "x") { nextCursor } }']) {
      const res = await request(stack.url, "POST", "/graphql", { auth: org.ownerKey, body: { query } });
      expect(res.status).toBeLessThan(500);
      expect(res.body.errors[0].extensions.code).toBe("BAD_REQUEST");
    }
  });

  it("refuses a query with more aliases than the GraphQL limits allow", async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: mcpServers { nextCursor }`).join(" ");
    const wide = await request(stack.url, "POST", "/graphql", {
      auth: org.ownerKey,
      body: { query: `{ ${aliases} }` },
    });
    expect(wide.status).toBe(400);
    expect(wide.body.errors[0].extensions.code).toBe("BAD_REQUEST");
  });
});

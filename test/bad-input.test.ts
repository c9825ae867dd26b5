import { once } from "node:events";
import { connect } from "node:net";
import { setImmediate } from "node:timers/promises";
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
      body: {
        name: "keep",
        baseUrl: "http://keep.example.com/mcp",
        tags: ["keep"],
        credentials: { bearerToken: "keep-token" },
      },
    })
  ).body.id;
});
afterAll(() => stack.close());

async function snapshot() {
  const where = { organizationId: org.organizationId };
  return {
    servers: await stack.db.mcpServer.findMany({ where, orderBy: { id: "asc" }, include: { credentials: true } }),
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
    name: "a single string where tags must be a list (never coerced to a list)",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "http://x.example.com", tags: "alpha" },
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a single string where tags must be a list, on update",
    method: "PATCH",
    path: () => `/v1/mcp/servers/${serverId}`,
    body: { tags: "alpha" },
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a number where a string is expected, inside a nested object",
    method: "POST",
    path: () => "/v1/mcp/servers",
    body: { name: "x", baseUrl: "http://x.example.com", credentials: { bearerToken: 12345 } },
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a lone UTF-16 surrogate in a body string",
    method: "POST",
    path: () => "/v1/mcp/servers",
    raw: '{"name":"x\\ud800","baseUrl":"http://x.example.com"}',
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a NUL character in a body string",
    method: "POST",
    path: () => "/v1/mcp/servers",
    raw: '{"name":"x","description":"a\\u0000b","baseUrl":"http://x.example.com"}',
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a NUL character in a body key",
    method: "PATCH",
    path: () => `/v1/mcp/servers/${serverId}`,
    raw: '{"metadata":{"a\\u0000":"b"}}',
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a NUL character in a query parameter",
    method: "GET",
    path: () => "/v1/mcp/servers?q=a%00b",
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a free-text filter q longer than 200 characters",
    method: "GET",
    path: () => `/v1/mcp/servers?q=${"q".repeat(201)}`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a capability filter longer than 200 characters",
    method: "GET",
    path: () => `/v1/discovery/servers?capability=${"c".repeat(201)}`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a capability name filter longer than 200 characters",
    method: "GET",
    path: () => `/v1/discovery/capabilities?name=${"n".repeat(201)}`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    name: "a discovery q longer than 200 characters",
    method: "GET",
    path: () => `/v1/discovery/capabilities?q=${"q".repeat(201)}`,
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
    name: "a move to another origin that asks to keep the credentials",
    method: "PATCH",
    path: () => `/v1/mcp/servers/${serverId}`,
    body: { baseUrl: "http://elsewhere.example.com/mcp", keepCredentials: true },
    status: 422,
    code: "CREDENTIALS_REQUIRED",
  },
  {
    name: "a keepCredentials that is not a boolean",
    method: "PATCH",
    path: () => `/v1/mcp/servers/${serverId}`,
    body: { baseUrl: "http://elsewhere.example.com/mcp", keepCredentials: "yes" },
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
    const search = "query($q: String) { mcpServers(q: $q) { nextCursor } }";
    const bodies: Array<{ query: string; variables?: Record<string, unknown> }> = [
      { query: "{ mcpServers {" },
      { query: "{ nope }" },
      { query: 'query { mcpServers(limit: "x") { nextCursor } }' },
      { query: search, variables: { q: "\ud800" } }, // a lone surrogate in a variable
      { query: search, variables: { q: "a\udc00" } }, // a lone low surrogate
      { query: search, variables: { q: "a\u0000b" } }, // a NUL in a variable
      { query: 'query { mcpServers(q: "a\\u0000b") { nextCursor } }' }, // a NUL in an inline literal
      { query: 'query { mcpServers(q: "a\\ud800b") { nextCursor } }' }, // a lone surrogate in a literal
      { query: search, variables: { q: "q".repeat(201) } }, // free text over the cap
      {
        query: "mutation($input: RegisterMcpServerInput!) { registerMcpServer(input: $input) { id } }",
        variables: { input: { name: "x\ud800", baseUrl: "http://x.example.com" } },
      },
    ];
    for (const body of bodies) {
      const res = await request(stack.url, "POST", "/graphql", { auth: org.ownerKey, body });
      expect([body, res.status]).toEqual([body, 400]);
      expect(res.body.errors[0].extensions.code).toBe("BAD_REQUEST");
      expect(JSON.stringify(res.body)).not.toMatch(/\bat \S+\.(js|ts):\d+/);
    }
  });

  it("keeps GraphQL's list input coercion: a single tag is a list of one (the spec's rule; REST is strict)", async () => {
    // An organization of its own: this stack allows one server per organization.
    const coercing = await createTestOrg(stack, "Coercion");
    const res = await request(stack.url, "POST", "/graphql", {
      auth: coercing.ownerKey,
      body: {
        query: "mutation($input: RegisterMcpServerInput!) { registerMcpServer(input: $input) { tags } }",
        variables: { input: { name: "coerced", baseUrl: "http://coerced.example.com", tags: "alpha" } },
      },
    });
    expect(res.body).toEqual({ data: { registerMcpServer: { tags: ["alpha"] } } });
  });

  it("never runs a string literal of a query as code in a subgraph (graphql-jit's date marker)", async () => {
    // graphql-jit 0.8.9 turns a literal that starts with this marker into `new Date(<the rest>)`
    // in the code it generates; the gateway passes literals on to the subgraph that owns the field.
    const flag = "__sprintconnectLiteralRan";
    const literal = `__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d(globalThis.${flag} = true, 0)`;
    const res = await request(stack.url, "POST", "/graphql", {
      auth: org.ownerKey,
      body: { query: `{ mcpServers(q: ${JSON.stringify(literal)}) { items { id } } }` },
    });
    expect((globalThis as Record<string, unknown>)[flag]).toBeUndefined();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { mcpServers: { items: [] } } });
  });

  it("accepts a surrogate pair (an emoji) and other non-ASCII text", async () => {
    const res = await request(stack.url, "GET", `/v1/mcp/servers?q=${encodeURIComponent("héllo 🌦️")}`, {
      auth: org.ownerKey,
    });
    expect(res.status).toBe(200);
  });

  it("lets a client that sends a 5 MB body read the 413, every time (no EPIPE, no reset)", async () => {
    const { hostname, port } = new URL(stack.url);
    const payload = Buffer.alloc(5 * 1024 * 1024, "a");
    // A raw client that writes the whole body before it looks at the answer, as many do.
    const send = (chunked: boolean) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname);
        let answer = "";
        socket.on("data", (chunk) => {
          answer += chunk.toString("latin1");
        });
        socket.on("error", reject); // EPIPE or ECONNRESET fail the test
        socket.on("close", () => resolve(answer));
        socket.once("connect", async () => {
          const length = chunked ? "transfer-encoding: chunked" : `content-length: ${payload.length}`;
          socket.write(
            `POST /v1/mcp/servers HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${length}\r\n\r\n`,
          );
          for (let offset = 0; offset < payload.length; offset += 65_536) {
            const part = payload.subarray(offset, offset + 65_536);
            const frame = chunked ? [`${part.length.toString(16)}\r\n`, part, "\r\n"] : [part];
            let flushed = true;
            for (const piece of frame) flushed = socket.write(piece) && flushed;
            if (!flushed) await once(socket, "drain");
            await setImmediate(); // let the server answer mid-body, as a slower network would
          }
          socket.write(chunked ? "0\r\n\r\n" : "");
        });
      });
    for (let i = 0; i < 10; i++) {
      const answer = await send(i % 2 === 1);
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer).toContain('"code":"PAYLOAD_TOO_LARGE"');
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
